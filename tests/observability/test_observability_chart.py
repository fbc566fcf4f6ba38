"""The chart ships the rules and dashboards unchanged (Helm must not eat `{{ $labels }}`)."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.chart.helpers import Tools, helm_template, parse, tools
from tests.observability.promql import DASHBOARDS, RULES

pytestmark = pytest.mark.integration
__all__ = ["tools"]


def test_monitoring_renders_our_rules_and_dashboards_verbatim(tools: Tools) -> None:
    result = helm_template(tools, sets=["monitoring.enabled=true"])
    assert result.returncode == 0, result.stderr
    docs = parse(result.stdout)
    (rule,) = [d for d in docs if d["kind"] == "PrometheusRule"]
    # Ours, then KEDA's (the default worker autoscaling is KEDA); files in name order.
    keda = RULES.with_name("keda.rules.yaml")
    expected = (
        yaml.safe_load(RULES.read_text())["groups"] + yaml.safe_load(keda.read_text())["groups"]
    )
    assert rule["spec"]["groups"] == expected
    summaries = [r["annotations"]["summary"] for g in rule["spec"]["groups"] for r in g["rules"]]
    assert any("{{ $labels.queue }}" in s for s in summaries)
    shipped = {
        name: json.loads(text)
        for d in docs
        if d["kind"] == "ConfigMap" and "grafana_dashboard" in d["metadata"]["labels"]
        for name, text in d["data"].items()
    }
    assert shipped == {p.name: json.loads(p.read_text()) for p in DASHBOARDS.glob("*.json")}
