"""Every PromQL expression in the chart's rules and dashboards parses and reads real metrics."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.observability.promql import (
    EXTERNAL_METRICS,
    dashboard_expressions,
    declared_metrics,
    metric_names,
    rule_expressions,
)

pytestmark = pytest.mark.integration

EXPRESSIONS = [*rule_expressions(), *dashboard_expressions()]


def test_there_are_expressions_from_every_dashboard_and_the_rules() -> None:
    sources = {where.split(":", 1)[0] for where, _ in EXPRESSIONS}
    assert sources == {
        "fluxus.rules.yaml",
        "fluxus-service-overview.json",
        "fluxus-payments.json",
        "fluxus-queues.json",
        "fluxus-billing.json",
        "fluxus-operator.json",
    }


def test_every_expression_parses(promtool: str, tmp_path: Path) -> None:
    # promtool parses each recording rule's expression with Prometheus' own parser.
    rules = [
        {"record": f"check:expr_{i}", "expr": expr} for i, (_w, expr) in enumerate(EXPRESSIONS)
    ]
    path = tmp_path / "expressions.rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "parse", "rules": rules}]}))
    result = subprocess.run(
        [promtool, "check", "rules", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    where = {f"check:expr_{i}": w for i, (w, _e) in enumerate(EXPRESSIONS)}
    assert result.returncode == 0, (result.stdout + result.stderr, where)


@pytest.mark.parametrize(("where", "expr"), EXPRESSIONS, ids=[w for w, _ in EXPRESSIONS])
def test_expression_names_only_metrics_that_exist(where: str, expr: str) -> None:
    names = metric_names(expr)
    assert names, f"{where} selects no metric"
    unknown = names - declared_metrics() - EXTERNAL_METRICS
    assert unknown == set(), f"{where} names metrics nobody exports: {unknown}"


def test_the_name_check_catches_a_typo() -> None:
    names = metric_names('sum by (queue) (rate(fluxus_jobs_faild_total{queue="email"}[5m]))')
    assert names == {"fluxus_jobs_faild_total"}
    assert names - declared_metrics() - EXTERNAL_METRICS == {"fluxus_jobs_faild_total"}
