"""Alert rules: promtool accepts them, every alert has a runbook, fires and stays quiet."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.observability.promql import RULES

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
RULE_TESTS = HERE / "rules_test.yaml"
REQUIRED_ALERTS = {
    "FluxusHigh5xxRatio",
    "FluxusHighP99Latency",
    "FluxusWebhookSignatureFailures",
    "FluxusPaymentNotificationsWaiting",
    "FluxusQueueBacklogHigh",
    "FluxusQueueNotDraining",
    "FluxusJobsFailing",
    "FluxusFailedJobsAccumulating",
    "FluxusRenewalLagAboveGrace",
    "FluxusRenewalCronJobFailing",
    "FluxusRenewalCronJobNotSucceeding",
    "FluxusBackupFailed",
    "FluxusBackupMissing",
    "FluxusReconciliationDrift",
    "FluxusOperatorReconcileErrors",
    "FluxusPlanNotReady",
    "FluxusNoWorkerAlive",
    "FluxusPaymentReviewWaiting",
    "FluxusCardAgreementCancelUnconfirmed",
}


def _alerts() -> list[dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"] if "alert" in rule]


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False, timeout=60, cwd=cwd)


def test_promtool_accepts_the_rules_file(promtool: str) -> None:
    result = _run(promtool, "check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(_alerts())} rules found" in result.stdout


def test_every_required_alert_exists_with_severity_and_runbook() -> None:
    alerts = {rule["alert"]: rule for rule in _alerts()}
    assert set(alerts) >= REQUIRED_ALERTS
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        notes = rule["annotations"]
        for key in ("summary", "description", "runbook"):
            assert len(str(notes.get(key, "")).strip()) > 20, f"{name} lacks a real {key}"


def test_every_alert_has_a_firing_and_a_quiet_unit_test() -> None:
    cases = [
        case
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for case in test["alert_rule_test"]
    ]
    fired = {case["alertname"] for case in cases if case["exp_alerts"]}
    quiet = {case["alertname"] for case in cases if not case["exp_alerts"]}
    names = {rule["alert"] for rule in _alerts()}
    assert names - fired == set(), "alerts never shown to fire"
    assert names - quiet == set(), "alerts never shown to stay quiet"


def _without_annotations(target: Path) -> None:
    doc = yaml.safe_load(RULES.read_text())
    for group in doc["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    target.write_text(yaml.safe_dump(doc))


def test_promtool_rule_unit_tests_pass(promtool: str, tmp_path: Path) -> None:
    # promtool compares annotations verbatim; their presence is checked above.
    _without_annotations(tmp_path / "fluxus.rules.yaml")
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    result = _run(promtool, "test", "rules", RULE_TESTS.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_rule_tests_catch_a_broken_threshold(promtool: str, tmp_path: Path) -> None:
    """The unit tests bite: a rule whose threshold no longer fires fails them."""
    _without_annotations(tmp_path / "fluxus.rules.yaml")
    rules = tmp_path / "fluxus.rules.yaml"
    rules.write_text(rules.read_text().replace("> 600", "> 60000"))
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    result = _run(promtool, "test", "rules", RULE_TESTS.name, cwd=tmp_path)
    assert result.returncode != 0
    assert "FluxusQueueNotDraining" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("threshold", "broken", "alert"),
    [
        ("> 86400", "> 864000", "FluxusPaymentReviewWaiting"),
        ("> 3600\n", "> 36000\n", "FluxusCardAgreementCancelUnconfirmed"),
    ],
)
def test_promtool_rule_tests_catch_a_broken_money_threshold(
    promtool: str, tmp_path: Path, threshold: str, broken: str, alert: str
) -> None:
    """A review item open for a day and an unconfirmed cancellation after an hour must fire."""
    _without_annotations(tmp_path / "fluxus.rules.yaml")
    rules = tmp_path / "fluxus.rules.yaml"
    text = rules.read_text()
    assert text.count(threshold) == 1
    rules.write_text(text.replace(threshold, broken))
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    result = _run(promtool, "test", "rules", RULE_TESTS.name, cwd=tmp_path)
    assert result.returncode != 0
    assert alert in result.stdout + result.stderr
