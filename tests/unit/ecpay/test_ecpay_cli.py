"""`fluxus ecpay check-mac`: print and verify CheckMacValues from JSON on stdin."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from services.ecpay.cli import ecpay

pytestmark = pytest.mark.unit


def _vector(all_checkmac_vectors: list[dict[str, Any]], kind: int) -> dict[str, Any]:
    return next(v for v in all_checkmac_vectors if v["encrypt_type"] == kind)


def _run(args: list[str], stdin: str) -> Any:
    return CliRunner().invoke(ecpay, ["check-mac", *args], input=stdin)


@pytest.mark.parametrize("kind", [1, 0])
def test_prints_the_check_mac_value(all_checkmac_vectors: list[dict[str, Any]], kind: int) -> None:
    vector = _vector(all_checkmac_vectors, kind)
    result = _run(
        [
            "--hash-key",
            vector["hash_key"],
            "--hash-iv",
            vector["hash_iv"],
            "--encrypt-type",
            str(kind),
        ],
        json.dumps(vector["params"]),
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == vector["check_mac_value"]


def test_defaults_come_from_settings(
    all_checkmac_vectors: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.core import config

    vector = next(v for v in all_checkmac_vectors if v["id"] == "pub-doc2902-aio")
    config.get_settings.cache_clear()
    monkeypatch.setattr(config, "get_settings", lambda: config.Settings())
    result = _run([], json.dumps(vector["params"]))
    assert result.output.strip() == vector["check_mac_value"]


def test_verify_exits_0_on_match_and_1_on_mismatch(
    all_checkmac_vectors: list[dict[str, Any]],
) -> None:
    vector = _vector(all_checkmac_vectors, 1)
    keys = ["--hash-key", vector["hash_key"], "--hash-iv", vector["hash_iv"], "--verify"]
    good = dict(vector["params"], CheckMacValue=vector["check_mac_value"])
    ok = _run(keys, json.dumps(good))
    assert ok.exit_code == 0 and "matches" in ok.output
    bad = _run(keys, json.dumps(good | {"TotalAmount": "1"}))
    assert bad.exit_code == 1
    assert "MISMATCH" in bad.output and vector["check_mac_value"] in bad.output


@pytest.mark.parametrize("stdin", ["{not json", "[1, 2]", '{"A": 1}'])
def test_bad_input_exits_2_with_a_message(stdin: str) -> None:
    result = _run(["--hash-key", "k", "--hash-iv", "v"], stdin)
    assert result.exit_code == 2
    assert "Error:" in result.output


def test_verify_without_a_mac_is_a_usage_error() -> None:
    result = _run(["--hash-key", "k", "--hash-iv", "v", "--verify"], '{"A": "1"}')
    assert result.exit_code == 2 and "CheckMacValue" in result.output
