"""The README tells the truth: every setting is documented, every `fluxus` command it names
exists, and the troubleshooting commands print what they claim."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from services.cli import main
from services.core.config import env_var_names
from services.ecpay.checkmac import check_mac_value

pytestmark = pytest.mark.unit

README = (Path(__file__).resolve().parents[3] / "README.md").read_text()
CODE_BLOCKS = re.findall(r"```(?:bash|sh)\n(.*?)```", README, flags=re.S)


def _fluxus_invocations() -> set[tuple[str, ...]]:
    """`fluxus a b` pairs as written in README code blocks and command tables."""
    found = set()
    # Invocations start a line, a code span, a pipe or a path — not `helm install fluxus …`.
    pattern = (r"(?:(?<=`)|(?<=bin/)|(?<=\| )|(?<=&& )|^\s*)"
               r"fluxus ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?")
    for match in re.finditer(pattern, README, flags=re.M):
        found.add(tuple(part for part in match.groups() if part))
    return found


def test_every_setting_is_in_the_configuration_reference() -> None:
    missing = [name for name in env_var_names() if f"`{name}`" not in README]
    assert missing == []


@pytest.mark.parametrize("words", sorted(_fluxus_invocations()))
def test_every_fluxus_command_in_the_readme_exists(words: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [words[0], "--help"])
    assert result.exit_code == 0, f"`fluxus {words[0]}` does not exist: {result.output}"
    if len(words) == 2 and "Commands:" in result.output:
        sub = CliRunner().invoke(main, [*words, "--help"])
        # A second word is either a subcommand or an argument/option value of a command.
        assert sub.exit_code == 0 or words[1] not in result.output.split("Commands:")[1], sub.output


def test_the_check_mac_example_prints_the_mac_ecpay_would_compute() -> None:
    block = next(b for b in CODE_BLOCKS if "check-mac" in b)
    echo, command = block.replace("\\\n", " ").split("|", 1)
    payload = shlex.split(echo)[1]
    args = shlex.split(command)[1:]  # drop "fluxus"
    result = CliRunner().invoke(main, args, input=payload)
    assert result.exit_code == 0, result.output
    import json

    expected = check_mac_value(json.loads(payload), "pwFHCqoQZGmho4w6", "EkRm7iFT261dpevs")
    assert result.output.strip() == expected

    signed = {**json.loads(payload), "CheckMacValue": expected}
    verified = CliRunner().invoke(main, [*args, "--verify"], input=json.dumps(signed))
    assert verified.exit_code == 0
    tampered = {**signed, "TotalAmount": "1"}
    refused = CliRunner().invoke(main, [*args, "--verify"], input=json.dumps(tampered))
    assert refused.exit_code == 1


def test_keygen_prints_a_usable_data_encryption_key() -> None:
    result = CliRunner().invoke(main, ["keygen"])
    key = result.output.strip().encode()
    assert Fernet(key).decrypt(Fernet(key).encrypt(b"990")) == b"990"
