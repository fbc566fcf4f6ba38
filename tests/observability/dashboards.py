"""Generates the Grafana dashboards in charts/fluxus/files/dashboards (run as a module)."""

# The JSON files are committed (the chart ships them as ConfigMaps); this module is their
# source, and test_dashboards.py fails when a file differs from what it generates.
# Regenerate: .venv/bin/python -m tests.observability.dashboards

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[2] / "charts" / "fluxus" / "files" / "dashboards"
RI = "$__rate_interval"
DS = {"type": "prometheus", "uid": "${datasource}"}

Panel = dict[str, Any]


def panel(
    title: str,
    *exprs: tuple[str, str],
    kind: str = "timeseries",
    unit: str = "short",
    width: int = 12,
    height: int = 8,
    description: str = "",
) -> Panel:
    """A panel; `exprs` are (PromQL, legend) pairs."""
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DS,
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {},
        "gridPos": {"w": width, "h": height},
        "targets": [
            {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend, "datasource": DS}
            for i, (expr, legend) in enumerate(exprs)
        ],
    }


def stat(title: str, expr: str, unit: str = "short", description: str = "") -> Panel:
    return panel(
        title, (expr, ""), kind="stat", unit=unit, width=6, height=4, description=description
    )


def _layout(panels: list[Panel]) -> list[Panel]:
    x = y = row_height = 0
    for number, item in enumerate(panels, start=1):
        grid = item["gridPos"]
        if x + grid["w"] > 24:
            x, y, row_height = 0, y + row_height, 0
        grid.update(x=x, y=y)
        x += grid["w"]
        row_height = max(row_height, grid["h"])
        item["id"] = number
    return panels


def _variable(name: str, query: str, label: str) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DS,
        "query": {"query": query, "refId": "var"},
        "definition": query,
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "current": {"text": "All", "value": "$__all"},
        "refresh": 2,
        "sort": 1,
    }


def dashboard(uid: str, title: str, panels: list[Panel], variables: list[Any]) -> dict[str, Any]:
    datasource = {
        "name": "datasource",
        "label": "Prometheus",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
    }
    return {
        "uid": uid,
        "title": title,
        "tags": ["fluxus"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [datasource, *variables]},
        "panels": _layout(panels),
    }


def service_overview() -> dict[str, Any]:
    sel = 'service=~"$service"'
    reqs = f"fluxus_http_requests_total{{{sel}}}"
    buckets = f"fluxus_http_request_duration_seconds_bucket{{{sel}}}"
    return dashboard(
        "fluxus-service-overview",
        "Fluxus / Service overview",
        [
            panel(
                "Requests per second by service",
                (f"sum by (service) (rate({reqs}[{RI}]))", "{{service}}"),
                unit="reqps",
            ),
            panel(
                "5xx ratio by service",
                (
                    f"sum by (service) (rate(fluxus_http_requests_total"
                    f'{{{sel},status=~"5.."}}[{RI}]))'
                    f" / sum by (service) (rate({reqs}[{RI}]))",
                    "{{service}}",
                ),
                unit="percentunit",
            ),
            panel(
                "Latency by service (p50, p99)",
                (
                    f"histogram_quantile(0.5, sum by (service, le) (rate({buckets}[{RI}])))",
                    "{{service}} p50",
                ),
                (
                    f"histogram_quantile(0.99, sum by (service, le) (rate({buckets}[{RI}])))",
                    "{{service}} p99",
                ),
                unit="s",
            ),
            panel(
                "Requests in flight",
                (f"sum by (service) (fluxus_http_requests_in_flight{{{sel}}})", "{{service}}"),
            ),
            panel(
                "Requests by endpoint",
                (
                    f"sum by (service, method, endpoint) (rate({reqs}[{RI}]))",
                    "{{service}} {{method}} {{endpoint}}",
                ),
                unit="reqps",
                width=24,
            ),
            panel(
                "Errors by endpoint and status",
                (
                    f"sum by (service, method, endpoint, status) (rate(fluxus_http_requests_total"
                    f'{{{sel},status=~"[45].."}}[{RI}]))',
                    "{{service}} {{method}} {{endpoint}} {{status}}",
                ),
                unit="reqps",
            ),
            panel(
                "p99 latency by endpoint",
                (
                    "histogram_quantile(0.99, sum by (service, endpoint, le) "
                    f"(rate({buckets}[{RI}])))",
                    "{{service}} {{endpoint}}",
                ),
                unit="s",
            ),
            panel("Scrape targets up", ('sum by (job) (up{job=~".*fluxus.*"})', "{{job}}")),
        ],
        [_variable("service", "label_values(fluxus_http_requests_total, service)", "Service")],
    )


def payments() -> dict[str, Any]:
    webhook = 'service="payment",endpoint=~"/payment/ecpay/.*"'
    processing = "fluxus_payment_processing_duration_seconds_bucket"
    activation = "fluxus_payment_callback_to_active_seconds_bucket"
    return dashboard(
        "fluxus-payments",
        "Fluxus / Payments and webhooks",
        [
            stat("Notifications waiting", "sum(fluxus_payment_notifications_unprocessed)"),
            stat(
                "Oldest waiting notification",
                "max(fluxus_payment_notifications_unprocessed_oldest_age_seconds)",
                unit="s",
            ),
            stat(
                "Refused notifications (1h)",
                'sum(increase(fluxus_payment_notifications_total{outcome!~"accepted|duplicate"}[1h]))',
            ),
            stat(
                "Reconciliation drift (24h)",
                "sum(increase(fluxus_billing_reconciliation_drift_total[24h]))",
            ),
            stat(
                "Review items open",
                "sum(fluxus_payment_reviews_open)",
                description="Money that arrived but could not be applied, waiting for staff "
                "(GET /api/payment-reviews/?status=open).",
            ),
            stat(
                "Oldest open review item",
                "max(fluxus_payment_reviews_oldest_open_age_seconds)",
                unit="s",
            ),
            stat(
                "Agreement cancellations unconfirmed",
                "sum(fluxus_payment_agreements_cancelling)",
                description="Card agreements cancelled here that ECPay has not confirmed yet.",
            ),
            stat(
                "Oldest unconfirmed cancellation",
                "max(fluxus_payment_agreements_cancelling_oldest_age_seconds)",
                unit="s",
            ),
            panel(
                "Notifications by outcome",
                (
                    f"sum by (outcome) (rate(fluxus_payment_notifications_total[{RI}]))",
                    "{{outcome}}",
                ),
                unit="reqps",
            ),
            panel(
                "Notifications by kind",
                (f"sum by (kind) (rate(fluxus_payment_notifications_total[{RI}]))", "{{kind}}"),
                unit="reqps",
            ),
            panel(
                "Webhook responses by endpoint and status",
                (
                    "sum by (endpoint, status) "
                    f"(rate(fluxus_http_requests_total{{{webhook}}}[{RI}]))",
                    "{{endpoint}} {{status}}",
                ),
                unit="reqps",
            ),
            panel(
                "Processing outcomes",
                (
                    f"sum by (outcome) (rate(fluxus_payment_notifications_processed_total[{RI}]))",
                    "{{outcome}}",
                ),
                unit="ops",
            ),
            panel(
                "Processing duration (p50, p99)",
                (f"histogram_quantile(0.5, sum by (le) (rate({processing}[{RI}])))", "p50"),
                (f"histogram_quantile(0.99, sum by (le) (rate({processing}[{RI}])))", "p99"),
                unit="s",
            ),
            panel(
                "Callback to active subscription (p50, p95)",
                (f"histogram_quantile(0.5, sum by (le) (rate({activation}[{RI}])))", "p50"),
                (f"histogram_quantile(0.95, sum by (le) (rate({activation}[{RI}])))", "p95"),
                unit="s",
            ),
            panel(
                "Reconciliation outcomes",
                (
                    "sum by (outcome) (increase(fluxus_billing_reconciliations_total[1h]))",
                    "{{outcome}}",
                ),
            ),
            panel(
                "Unprocessed notifications",
                ("sum(fluxus_payment_notifications_unprocessed)", "waiting"),
            ),
            panel(
                "Open review items by reason",
                ("sum by (reason) (fluxus_payment_reviews_open)", "{{reason}}"),
            ),
        ],
        [],
    )


def queues() -> dict[str, Any]:
    duration = "fluxus_job_duration_seconds_bucket"
    return dashboard(
        "fluxus-queues",
        "Fluxus / Queues and workers",
        [
            stat("Workers alive", "max(sum by (queue) (fluxus_queue_workers))"),
            stat("Jobs waiting", "sum(fluxus_queue_depth)"),
            stat("Failed registry", "sum(fluxus_queue_failed_jobs)"),
            stat("Jobs failed (1h)", "sum(increase(fluxus_jobs_failed_total[1h]))"),
            panel("Queue depth", ("sum by (queue) (fluxus_queue_depth)", "{{queue}}")),
            panel(
                "Oldest waiting job",
                ("max by (queue) (fluxus_queue_oldest_job_age_seconds)", "{{queue}}"),
                unit="s",
            ),
            panel("Workers by queue", ("sum by (queue) (fluxus_queue_workers)", "{{queue}}")),
            panel("Running jobs", ("sum by (queue) (fluxus_queue_started_jobs)", "{{queue}}")),
            panel(
                "Jobs started / finished / failed",
                (
                    f"sum by (job_name) (rate(fluxus_jobs_started_total[{RI}]))",
                    "{{job_name}} started",
                ),
                (
                    f"sum by (job_name) (rate(fluxus_jobs_finished_total[{RI}]))",
                    "{{job_name}} finished",
                ),
                (
                    f"sum by (job_name) (rate(fluxus_jobs_failed_total[{RI}]))",
                    "{{job_name}} failed",
                ),
                unit="ops",
                width=24,
            ),
            panel(
                "Job duration p95",
                (
                    f"histogram_quantile(0.95, sum by (job_name, le) (rate({duration}[{RI}])))",
                    "{{job_name}}",
                ),
                unit="s",
            ),
            panel(
                "Failed registry by queue",
                ("sum by (queue) (fluxus_queue_failed_jobs)", "{{queue}}"),
            ),
            panel(
                "Scrape-time collector errors",
                (
                    "sum by (collector) (increase(fluxus_scrape_collector_errors_total[1h]))",
                    "{{collector}}",
                ),
                (
                    "max by (collector) (fluxus_scrape_collector_duration_seconds)",
                    "{{collector}} build seconds",
                ),
            ),
        ],
        [],
    )


def billing() -> dict[str, Any]:
    active = 'fluxus_billing_subscriptions{status="active"}'
    churned = "sum(fluxus_billing_subscriptions_churned_30d)"
    return dashboard(
        "fluxus-billing",
        "Fluxus / Billing",
        [
            stat("MRR (TWD)", "sum(fluxus_billing_mrr_twd)", unit="currencyTWD"),
            stat("Active subscriptions", f"sum({active})"),
            stat(
                "Churn (30 days)",
                f"{churned} / ({churned} + sum({active}))",
                unit="percentunit",
                description="Subscriptions that expired or were cancelled in the last 30 days, "
                "over those plus the active ones.",
            ),
            stat("past_due subscriptions", "sum(fluxus_billing_dunning_subscriptions)"),
            panel(
                "MRR by plan (TWD)",
                ("sum by (plan) (fluxus_billing_mrr_twd)", "{{plan}}"),
                unit="currencyTWD",
            ),
            panel("Active subscriptions by plan", (f"sum by (plan) ({active})", "{{plan}}")),
            panel(
                "Subscriptions by status",
                ("sum by (status) (fluxus_billing_subscriptions)", "{{status}}"),
            ),
            panel(
                "Subscription transitions (per day)",
                (
                    "sum by (to) (increase(fluxus_billing_subscription_transitions_total[1d]))",
                    "{{to}}",
                ),
            ),
            panel(
                "Renewals by outcome (per hour)",
                ("sum by (outcome) (increase(fluxus_billing_renewals_total[1h]))", "{{outcome}}"),
            ),
            panel(
                "Renewal lag vs grace period",
                ("max by (plan) (fluxus_billing_renewal_lag_seconds)", "{{plan}} lag"),
                ("max by (plan) (fluxus_billing_plan_grace_period_seconds)", "{{plan}} grace"),
                unit="s",
            ),
            panel(
                "Renewals due without an order",
                ("sum by (plan) (fluxus_billing_renewals_due)", "{{plan}}"),
            ),
            panel(
                "Dunning: past_due by days since period end",
                ("sum by (stage) (fluxus_billing_dunning_subscriptions)", "{{stage}}"),
            ),
            panel(
                "Churned in the last 30 days by plan",
                ("sum by (plan) (fluxus_billing_subscriptions_churned_30d)", "{{plan}}"),
            ),
            panel("Orders by status", ("sum by (status) (fluxus_billing_orders)", "{{status}}")),
            panel("Invoices", ("sum by (state) (fluxus_billing_invoices)", "{{state}}")),
            panel(
                "E-invoices (統一發票) not issued",
                ("sum by (state, reason) (fluxus_billing_einvoices)", "{{state}} {{reason}}"),
                ("sum by (outcome) (increase(fluxus_billing_einvoices_total[1h]))",
                 "issue attempts: {{outcome}} /h"),
                description="Pending: waiting for ECPay (the law allows two days). Failed: "
                "refused, a person must fix and retry (GET /api/einvoices/?status=failed).",
            ),
            panel(
                "Oldest sale waiting for its e-invoice",
                ("fluxus_billing_einvoices_oldest_pending_age_seconds", "oldest pending"),
                unit="s",
                description="FluxusEInvoicePending fires above one day.",
            ),
            panel(
                "MRR movements this month (TWD, excl. tax)",
                ("sum by (kind) (fluxus_billing_mrr_movements_month_twd)", "{{kind}}"),
                ("fluxus_billing_mrr_booked_twd", "booked MRR"),
                unit="currencyTWD",
                description="New, expansion, contraction, churn (voluntary, delinquent) and "
                "reactivation so far this Taipei month; GET /api/reports/mrr/ has every month.",
            ),
            panel(
                "Outgoing webhooks",
                ("sum by (state) (fluxus_billing_webhook_deliveries)", "{{state}}"),
                ("sum by (outcome) (increase(fluxus_billing_webhook_deliveries_total[1h]))",
                 "attempts: {{outcome}} /h"),
                ("fluxus_billing_webhook_oldest_failing_age_seconds / 3600",
                 "oldest failing (hours)"),
                description="FluxusOutgoingWebhookFailing fires after six hours of failing; "
                "the delivery log is GET /api/webhook-endpoints/<id>/deliveries/.",
            ),
        ],
        [],
    )


def operator() -> dict[str, Any]:
    duration = "fluxus_operator_reconcile_duration_seconds_bucket"
    renew = 'cronjob=~"fluxus-renew-.+"'
    return dashboard(
        "fluxus-operator",
        "Fluxus / Operator",
        [
            stat("Plans ready", "sum(fluxus_operator_plan_ready)"),
            stat("Plans not ready", "count(fluxus_operator_plan_ready == 0) or vector(0)"),
            stat(
                "Reconcile errors (1h)",
                'sum(increase(fluxus_operator_reconciles_total{outcome!="ok"}[1h]))',
            ),
            stat("Failed renewal jobs", 'sum(kube_job_status_failed{job_name=~"fluxus-renew-.+"})'),
            panel(
                "Reconciliations by outcome",
                (f"sum by (outcome) (rate(fluxus_operator_reconciles_total[{RI}]))", "{{outcome}}"),
                unit="ops",
            ),
            panel(
                "Reconcile duration (p95)",
                (f"histogram_quantile(0.95, sum by (le) (rate({duration}[{RI}])))", "p95"),
                unit="s",
            ),
            panel(
                "Plan ready (1 = ready)", ("max by (plan) (fluxus_operator_plan_ready)", "{{plan}}")
            ),
            panel(
                "Renewal CronJobs: time since last success",
                (
                    "time() - max by (cronjob) "
                    f"(kube_cronjob_status_last_successful_time{{{renew}}})",
                    "{{cronjob}}",
                ),
                unit="s",
            ),
        ],
        [],
    )


DASHBOARDS = {
    "fluxus-service-overview.json": service_overview,
    "fluxus-payments.json": payments,
    "fluxus-queues.json": queues,
    "fluxus-billing.json": billing,
    "fluxus-operator.json": operator,
}


def render(build: Any) -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, build in DASHBOARDS.items():
        (OUT / name).write_text(render(build))
        sys.stdout.write(f"wrote {OUT / name}\n")


if __name__ == "__main__":
    main()
