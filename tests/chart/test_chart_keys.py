"""Keys under GitOps: production keys are never generated, renders are reproducible (#22.2)."""

from __future__ import annotations

import base64

import pytest
from cryptography.fernet import Fernet

from tests.chart.helpers import REPO, Tools, helm_template, parse

pytestmark = pytest.mark.integration

PRODUCTION_VALUES = REPO / "k8s" / "production" / "values-production.yaml"
DEV_VALUES = REPO / "k8s" / "dev" / "values-dev.yaml"


@pytest.mark.parametrize("key", ["FLUXUS_JWT_SECRET", "FLUXUS_DATA_ENCRYPTION_KEY"])
def test_production_without_a_key_fails_and_says_what_to_do(tools: Tools, key: str) -> None:
    other = {"FLUXUS_JWT_SECRET": "j" * 40, "FLUXUS_DATA_ENCRYPTION_KEY": Fernet.generate_key()}
    other.pop(key)
    sets = [
        f"secrets.values.{k}={v.decode() if isinstance(v, bytes) else v}" for k, v in other.items()
    ]
    result = helm_template(tools, sets=sets, keys=False)
    assert result.returncode != 0
    assert f"secrets.values.{key} is empty and FLUXUS_ENV is production" in result.stderr
    assert "secrets.existingSecret" in result.stderr


@pytest.mark.parametrize(
    "values", [[PRODUCTION_VALUES], [DEV_VALUES], []], ids=["prod", "dev", "keys"]
)
def test_two_renders_of_the_same_values_are_identical(tools: Tools, values: list) -> None:
    first = helm_template(tools, values, keys=values == [])
    second = helm_template(tools, values, keys=values == [])
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout


def _secret_values(text: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for doc in parse(text):
        if doc["kind"] == "Secret" and "helm.sh/hook" not in doc["metadata"].get("annotations", {}):
            for key, value in (doc.get("data") or {}).items():
                merged[key] = base64.b64decode(value).decode()
    return merged


def test_development_derives_working_keys_that_differ_per_release(tools: Tools) -> None:
    sets = ["secrets.values.FLUXUS_JWT_SECRET="]
    one = _secret_values(helm_template(tools, [DEV_VALUES], sets=sets, keys=False).stdout)
    other = _secret_values(
        helm_template(tools, [DEV_VALUES], sets=sets, release="other", keys=False).stdout
    )
    Fernet(one["FLUXUS_DATA_ENCRYPTION_KEY"].encode())  # a valid Fernet key
    assert len(one["FLUXUS_JWT_SECRET"]) >= 32
    assert one["FLUXUS_JWT_SECRET"] != other["FLUXUS_JWT_SECRET"]
    assert one["FLUXUS_DATA_ENCRYPTION_KEY"] != other["FLUXUS_DATA_ENCRYPTION_KEY"]


def test_the_chart_reads_nothing_back_from_the_cluster() -> None:
    """`lookup` returns nothing under `helm template` and Argo CD: keys must not depend on it."""
    for template in (REPO / "charts" / "fluxus" / "templates").iterdir():
        text = template.read_text()
        assert "lookup " not in text and "(lookup" not in text, template.name
