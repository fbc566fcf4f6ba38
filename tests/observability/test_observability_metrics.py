"""The metric catalogue, the HTTP middleware's labels, the scrape-time cache, the dashboards."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

import pytest
from flask import Flask
from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

from services.core import metrics
from services.core.metrics_business import BusinessSnapshot, CachedCollector, snapshot_metrics
from services.core.metrics_runtime import instrument_flask
from tests.observability import dashboards
from tests.observability.promql import DASHBOARDS

pytestmark = pytest.mark.unit

BOUNDED_LABELS = {
    "service",
    "endpoint",
    "method",
    "status",
    "kind",
    "outcome",
    "to",
    "job_name",
    "queue",
    "result",
    "plan",
    "stage",
    "state",
    "collector",
}
DECLARED = [
    v
    for v in vars(metrics).values()
    if isinstance(v, (Counter, Histogram)) or type(v).__name__ == "Gauge"
]


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize("metric", DECLARED, ids=lambda m: m._name)
def test_metric_names_follow_the_convention_and_labels_are_bounded(metric: object) -> None:
    name: str = metric._name  # type: ignore[attr-defined]
    kind: str = metric._type  # type: ignore[attr-defined]
    assert re.fullmatch(r"fluxus_(http|payment|billing|jobs?|operator)_[a-z0-9_]+", name)
    if kind == "histogram":
        assert name.endswith("_seconds")
    assert set(metric._labelnames) <= BOUNDED_LABELS  # type: ignore[attr-defined]
    # Prometheus sets `job` and `instance` on every target; a metric's own would be renamed.
    assert not {"job", "instance"} & set(metric._labelnames)  # type: ignore[attr-defined]
    assert metric._labelnames, "every metric is labelled (values open after multiprocess setup)"  # type: ignore[attr-defined]


def test_scrape_time_metric_names_follow_the_convention() -> None:
    for name in metrics.SCRAPE_TIME_METRICS:
        assert re.fullmatch(r"fluxus_(billing|payment|queue|scrape)_[a-z0-9_]+", name), name


def _app() -> Flask:
    app = Flask("probe")

    @app.get("/api/v1/orders/<uuid:order_id>")
    def order(order_id: uuid.UUID) -> str:
        return str(order_id)

    @app.post("/boom")
    def boom() -> str:
        raise RuntimeError("bug")

    return instrument_flask(app, service="probe")


def test_requests_are_labelled_by_url_rule_never_by_raw_path() -> None:
    client = _app().test_client()
    rule = "/api/v1/orders/<uuid:order_id>"
    before = value(
        "fluxus_http_requests_total", service="probe", endpoint=rule, method="GET", status="200"
    )
    timed_before = value(
        "fluxus_http_request_duration_seconds_count", service="probe", endpoint=rule, method="GET"
    )
    for _ in range(3):
        assert client.get(f"/api/v1/orders/{uuid.uuid4()}").status_code == 200
    assert (
        value(
            "fluxus_http_requests_total", service="probe", endpoint=rule, method="GET", status="200"
        )
        == before + 3
    )
    assert (
        value(
            "fluxus_http_request_duration_seconds_count",
            service="probe",
            endpoint=rule,
            method="GET",
        )
        == timed_before + 3
    )
    endpoints = {
        s.labels.get("endpoint")
        for f in REGISTRY.collect()
        for s in f.samples
        if s.labels.get("service") == "probe"
    }
    assert all("<" in e for e in endpoints if e), endpoints  # rules or <unmatched>, no raw ids


def test_unknown_paths_errors_and_odd_methods_stay_bounded() -> None:
    client = _app().test_client()
    before_404 = value(
        "fluxus_http_requests_total",
        service="probe",
        endpoint="<unmatched>",
        method="GET",
        status="404",
    )
    assert client.get(f"/no/such/{uuid.uuid4()}").status_code == 404
    assert (
        value(
            "fluxus_http_requests_total",
            service="probe",
            endpoint="<unmatched>",
            method="GET",
            status="404",
        )
        == before_404 + 1
    )
    before_500 = value(
        "fluxus_http_requests_total", service="probe", endpoint="/boom", method="POST", status="500"
    )
    assert client.post("/boom").status_code == 500
    assert (
        value(
            "fluxus_http_requests_total",
            service="probe",
            endpoint="/boom",
            method="POST",
            status="500",
        )
        == before_500 + 1
    )
    odd = {"service": "probe", "endpoint": "<unmatched>", "method": "OTHER", "status": "405"}
    before_odd = value("fluxus_http_requests_total", **odd)
    assert client.open("/boom", method="BREW").status_code == 405
    assert value("fluxus_http_requests_total", **odd) == before_odd + 1
    assert value("fluxus_http_requests_in_flight", service="probe") == 0


def test_notification_outcomes_are_bounded() -> None:
    before = value("fluxus_payment_notifications_total", kind="other", outcome="other")
    metrics.record_notification("evil-kind", "ORDER-123")
    assert value("fluxus_payment_notifications_total", kind="other", outcome="other") == before + 1
    bad = value("fluxus_payment_notifications_total", kind="return", outcome="bad_signature")
    metrics.record_notification("return", "bad_signature")
    assert (
        value("fluxus_payment_notifications_total", kind="return", outcome="bad_signature")
        == bad + 1
    )


def test_reconciliation_drift_counts_only_disagreements() -> None:
    drift = value("fluxus_billing_reconciliation_drift_total", outcome="completed")
    metrics.record_reconciliation("waiting")
    metrics.record_reconciliation("completed")
    assert value("fluxus_billing_reconciliation_drift_total", outcome="completed") == drift + 1
    assert value("fluxus_billing_reconciliation_drift_total", outcome="waiting") == 0


def test_sweep_results_become_transitions_by_target_status() -> None:
    before = value("fluxus_billing_subscription_transitions_total", to="active")
    metrics.record_transitions({"activated": 2, "expired": 0})
    assert value("fluxus_billing_subscription_transitions_total", to="active") == before + 2


def test_plan_readiness_is_forgotten_when_the_plan_goes() -> None:
    metrics.set_plan_ready("gone-plan", False)
    assert REGISTRY.get_sample_value("fluxus_operator_plan_ready", {"plan": "gone-plan"}) == 0
    metrics.forget_plan("gone-plan")
    metrics.forget_plan("gone-plan")
    assert REGISTRY.get_sample_value("fluxus_operator_plan_ready", {"plan": "gone-plan"}) is None


def test_business_snapshot_becomes_gauges_for_every_plan() -> None:
    snap = BusinessSnapshot(
        mrr_twd={"basic": Decimal("990"), "pro": Decimal("0")},
        subscriptions={("basic", "active"): 1},
        churned_30d={"basic": 0, "pro": 2},
        renewal_lag_seconds={"basic": 60.0},
        grace_seconds={"basic": 604800.0, "pro": 259200.0},
        dunning={"d0_1": 1},
        orders={"completed": 1},
        invoices={"paid": 1, "unpaid": 0},
        unprocessed=2,
        unprocessed_oldest_seconds=30.0,
    )
    families = {f.name: f for f in snapshot_metrics(snap)}
    assert {f + "" for f in families} <= metrics.SCRAPE_TIME_METRICS
    lag = {
        s.labels["plan"]: s.value for s in families["fluxus_billing_renewal_lag_seconds"].samples
    }
    assert lag == {"basic": 60.0, "pro": 0.0}
    active = {
        s.labels["plan"]: s.value
        for s in families["fluxus_billing_subscriptions"].samples
        if s.labels["status"] == "active"
    }
    assert active == {"basic": 1.0, "pro": 0.0}
    assert families["fluxus_payment_notifications_unprocessed"].samples[0].value == 2


def test_review_queue_gauges_list_every_reason_and_the_waits() -> None:
    snap = BusinessSnapshot(
        reviews_open={"duplicate_payment": 2},
        reviews_oldest_open_seconds=90000.0,
        agreements_cancelling=1,
        agreements_cancelling_oldest_seconds=4000.0,
    )
    families = {f.name: f for f in snapshot_metrics(snap)}
    assert set(families) <= metrics.SCRAPE_TIME_METRICS
    open_items = {
        s.labels["reason"]: s.value for s in families["fluxus_payment_reviews_open"].samples
    }
    assert open_items["duplicate_payment"] == 2
    assert open_items["unknown_order"] == open_items["charge_after_cancel"] == 0
    assert len(open_items) >= 9
    single = {
        name: families[name].samples[0].value
        for name in (
            "fluxus_payment_reviews_oldest_open_age_seconds",
            "fluxus_payment_agreements_cancelling",
            "fluxus_payment_agreements_cancelling_oldest_age_seconds",
        )
    }
    assert single == {
        "fluxus_payment_reviews_oldest_open_age_seconds": 90000.0,
        "fluxus_payment_agreements_cancelling": 1.0,
        "fluxus_payment_agreements_cancelling_oldest_age_seconds": 4000.0,
    }


def test_cached_collector_builds_once_per_ttl_and_serves_stale_on_error() -> None:
    calls: list[int] = []

    def build() -> list[Metric]:
        calls.append(1)
        if len(calls) == 2:
            raise ConnectionError("redis down")
        family = GaugeMetricFamily("fluxus_queue_depth", "d", labels=["queue"])
        family.add_metric(["email"], len(calls))
        return [family]

    collector = CachedCollector({"queues": build}, ttl=3600)
    first = list(collector.collect())
    list(collector.collect())
    assert len(calls) == 1  # cached
    collector.ttl = 0
    stale = {f.name: f for f in collector.collect()}
    assert len(calls) == 2
    assert stale["fluxus_queue_depth"].samples[0].value == 1  # last good value
    assert stale["fluxus_scrape_collector_errors"].samples[0].value == 1
    assert first[0].samples[0].value == 1


def test_committed_dashboards_are_what_the_generator_makes() -> None:
    committed = {p.name for p in DASHBOARDS.glob("*.json")}
    assert committed == set(dashboards.DASHBOARDS)
    for name, build in dashboards.DASHBOARDS.items():
        assert (DASHBOARDS / name).read_text() == dashboards.render(build), (
            f"{name} is stale: run .venv/bin/python -m tests.observability.dashboards"
        )


def test_dashboards_have_unique_uids_and_non_overlapping_panels() -> None:
    boards = [build() for build in dashboards.DASHBOARDS.values()]
    assert len({b["uid"] for b in boards}) == len(boards)
    for board in boards:
        cells: set[tuple[int, int]] = set()
        for item in board["panels"]:
            g = item["gridPos"]
            mine = {
                (x, y)
                for x in range(g["x"], g["x"] + g["w"])
                for y in range(g["y"], g["y"] + g["h"])
            }
            assert not mine & cells, f"{board['title']}: {item['title']} overlaps"
            assert g["x"] + g["w"] <= 24
            cells |= mine
