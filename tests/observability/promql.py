"""PromQL from the chart's rules and dashboards, and the metric names each expression reads."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from services.core import metrics

REPO = Path(__file__).resolve().parents[2]
FILES = REPO / "charts" / "fluxus" / "files"
RULES = FILES / "prometheus" / "fluxus.rules.yaml"
DASHBOARDS = FILES / "dashboards"

# Metrics other exporters provide: Prometheus itself (up) and kube-state-metrics (the
# renewal CronJobs the operator creates, the backup CronJob). Nothing else outside
# services.core.metrics.
EXTERNAL_METRICS = frozenset(
    {
        "up",
        "kube_job_status_failed",
        "kube_job_failed",
        "kube_job_status_start_time",
        "kube_cronjob_created",
        "kube_cronjob_status_last_schedule_time",
        "kube_cronjob_status_last_successful_time",
    }
)

# Grafana's template variables, replaced by values Prometheus accepts.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$service": ".*"}

_FUNCTIONS_AND_KEYWORDS = frozenset(
    """
    sum min max avg count stddev stdvar topk bottomk quantile count_values group
    rate irate increase delta idelta deriv predict_linear histogram_quantile absent
    absent_over_time clamp_min clamp_max time vector scalar label_replace label_join
    avg_over_time max_over_time min_over_time sum_over_time count_over_time changes resets
    and or unless by without on ignoring group_left group_right bool offset inf nan
""".split()  # noqa: SIM905 - a word list reads better as text
)
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPINGS = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*")


def grafana_to_promql(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def metric_names(expr: str) -> set[str]:
    """Names of the series an expression selects (strings, label matchers, ranges and
    grouping clauses removed first; what is left is functions, keywords and metrics)."""
    text = _STRINGS.sub('""', expr)
    text = _MATCHERS.sub("", text)
    text = _RANGES.sub("", text)
    text = _GROUPINGS.sub("", text)
    return {name for name in _IDENTIFIER.findall(text) if name not in _FUNCTIONS_AND_KEYWORDS}


def rule_expressions(path: Path = RULES) -> Iterator[tuple[str, str]]:
    """(where, expr) for every rule."""
    for group in yaml.safe_load(path.read_text())["groups"]:
        for rule in group["rules"]:
            yield f"{path.name}:{rule.get('alert') or rule.get('record')}", rule["expr"]


def dashboard_expressions(folder: Path = DASHBOARDS) -> Iterator[tuple[str, str]]:
    """(where, expr) for every panel target, Grafana variables substituted."""
    for path in sorted(folder.glob("*.json")):
        board: dict[str, Any] = json.loads(path.read_text())
        for item in board["panels"]:
            for target in item.get("targets", []):
                where = f"{path.name}:{item['title']}:{target['refId']}"
                yield where, grafana_to_promql(target["expr"])


def declared_metrics() -> set[str]:
    """Every series name Fluxus exposes: declared metrics with their sample suffixes, plus
    the scrape-time gauges."""
    names: set[str] = set(metrics.SCRAPE_TIME_METRICS)
    for value in vars(metrics).values():
        describe = getattr(value, "describe", None)
        if describe is None or not getattr(value, "_name", "").startswith("fluxus_"):
            continue
        for family in describe():
            kind = family.type
            if kind == "counter":
                names.add(family.name + "_total")
            elif kind == "histogram":
                names.update(family.name + s for s in ("_bucket", "_sum", "_count"))
            else:
                names.add(family.name)
    return names
