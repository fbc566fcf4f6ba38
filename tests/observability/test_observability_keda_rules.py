"""The KEDA alert (issue #22.10): promtool accepts it, it fires on a failing worker scaler and
stays quiet on a recovered one and on other applications' ScaledObjects; the chart ships it
only when KEDA scales the workers."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.chart.helpers import Tools, helm_template, parse, tools
from tests.observability.promql import FILES

pytestmark = pytest.mark.integration
__all__ = ["tools"]

KEDA_RULES = FILES / "prometheus" / "keda.rules.yaml"
KEDA_TESTS = Path(__file__).with_name("keda_rules_test.yaml")


def _promtool(promtool: str, *args: str, cwd: Path | None = None) -> str:
    result = subprocess.run(
        [promtool, *args], capture_output=True, text=True, check=False, timeout=60, cwd=cwd
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_promtool_accepts_the_keda_rules(promtool: str) -> None:
    assert "SUCCESS: 1 rules found" in _promtool(promtool, "check", "rules", str(KEDA_RULES))


def test_the_keda_alert_fires_and_stays_quiet(promtool: str, tmp_path: Path) -> None:
    doc = yaml.safe_load(KEDA_RULES.read_text())
    for group in doc["groups"]:
        for rule in group["rules"]:
            assert len(rule["annotations"]["runbook"]) > 20
            rule.pop("annotations")
    (tmp_path / "keda.rules.yaml").write_text(yaml.safe_dump(doc))
    shutil.copy(KEDA_TESTS, tmp_path / KEDA_TESTS.name)
    assert "SUCCESS" in _promtool(promtool, "test", "rules", KEDA_TESTS.name, cwd=tmp_path)


@pytest.mark.parametrize(("mode", "shipped"), [("keda", True), ("hpa", False)])
def test_the_chart_ships_the_keda_alert_only_with_keda(
    tools: Tools, mode: str, shipped: bool
) -> None:
    result = helm_template(
        tools, sets=["monitoring.enabled=true", f"worker.autoscaling.mode={mode}"]
    )
    assert result.returncode == 0, result.stderr
    (rule,) = [d for d in parse(result.stdout) if d["kind"] == "PrometheusRule"]
    names = {r.get("alert") for g in rule["spec"]["groups"] for r in g["rules"]}
    assert ("FluxusKedaScalerErrors" in names) is shipped
