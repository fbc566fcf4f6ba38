"""CI's dependency audit fails on a known vulnerability and says so when it could not audit."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

_SPEC = importlib.util.spec_from_file_location(
    "audit_deps", Path(__file__).resolve().parents[3] / ".ci" / "audit_deps.py")
assert _SPEC is not None and _SPEC.loader is not None
audit_deps = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(audit_deps)


def test_a_known_vulnerability_fails_ci_and_names_the_fix() -> None:
    code, message = audit_deps.verdict({"dependencies": [
        {"name": "gunicorn", "version": "22.0.0",
         "vulns": [{"id": "GHSA-hc5x-x2vx-497g", "fix_versions": ["23.0.0"]}]},
        {"name": "flask", "version": "3.1.3", "vulns": []}]})
    assert code == 1
    assert "gunicorn 22.0.0: GHSA-hc5x-x2vx-497g (fixed in 23.0.0)" in message


def test_no_advisory_data_is_a_clear_skip_not_a_pass() -> None:
    code, message = audit_deps.verdict({"dependencies": [
        {"name": "flask", "skip_reason": "Dependency not found on PyPI and could not be"
                                         " audited: flask (3.1.3)"}]})
    assert code == 0
    assert "SKIPPED" in message and "NOT audited" in message


def test_a_clean_audit_says_how_many_were_audited() -> None:
    code, message = audit_deps.verdict({"dependencies": [
        {"name": "flask", "version": "3.1.3", "vulns": []},
        {"name": "local", "skip_reason": "not on PyPI"}]})
    assert code == 0
    assert "1 locked packages audited, none vulnerable; 1 could not be audited: local" in message
