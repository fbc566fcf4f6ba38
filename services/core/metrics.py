"""Every Fluxus Prometheus metric, declared once, with the small recorders the edges call."""

# Names follow fluxus_<subsystem>_<name>_<unit> (counters end in _total). Every label is
# bounded: endpoint is the URL rule (never the raw path), outcomes and statuses are enums,
# `plan` is a plan slug (plans are few). Never label by user, order or notification.
#
# Scrape-time gauges (MRR, subscriptions by plan, queue depth, ...) are not declared here:
# services/core/metrics_business.py and services/worker/metrics_queues.py build them on
# scrape in the scheduler; their names are listed in SCRAPE_TIME_METRICS so tests can check
# that every dashboard and alert names a metric that exists.

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge, Histogram

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ENDPOINT = "<unmatched>"

# Payment verdicts (services.core.usecases.payment_notifications.Verdict) plus the one
# outcome the intake adds: a notification already stored (ECPay re-sent it).
NOTIFICATION_OUTCOMES = frozenset(
    {
        "accepted",
        "duplicate",
        "bad_signature",
        "wrong_merchant",
        "malformed",
        "unknown_order",
        "amount_mismatch",
        "simulated",
    }
)
# Reconciliation outcomes that mean our books disagreed with ECPay's until we looked.
DRIFT_OUTCOMES = frozenset({"completed", "failed", "mismatch"})

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_JOB_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
_ACTIVATION_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)

# --- HTTP services (api, payment, ui) -------------------------------------------------------
HTTP_REQUESTS = Counter(
    "fluxus_http_requests_total",
    "HTTP requests answered, by URL rule, method and status code.",
    ["service", "endpoint", "method", "status"],
)
HTTP_DURATION = Histogram(
    "fluxus_http_request_duration_seconds",
    "Time from receiving a request to returning its response.",
    ["service", "endpoint", "method"],
    buckets=_LATENCY_BUCKETS,
)
HTTP_IN_FLIGHT = Gauge(
    "fluxus_http_requests_in_flight",
    "Requests being handled right now.",
    ["service"],
    multiprocess_mode="livesum",
)

# --- Payments -------------------------------------------------------------------------------
NOTIFICATIONS = Counter(
    "fluxus_payment_notifications_total",
    "ECPay notifications received, by kind (return, payment_info, period) and outcome.",
    ["kind", "outcome"],
)
PROCESSED = Counter(
    "fluxus_payment_notifications_processed_total",
    "Stored notifications applied by the worker, by processing outcome.",
    ["outcome"],
)
PROCESSING_DURATION = Histogram(
    "fluxus_payment_processing_duration_seconds",
    "Time the worker took to apply one stored notification.",
    ["outcome"],
    buckets=_JOB_BUCKETS,
)
CALLBACK_TO_ACTIVE = Histogram(
    "fluxus_payment_callback_to_active_seconds",
    "From receiving a paid notification to the subscription being active.",
    ["outcome"],
    buckets=_ACTIVATION_BUCKETS,
)

# --- Billing --------------------------------------------------------------------------------
SUBSCRIPTION_TRANSITIONS = Counter(
    "fluxus_billing_subscription_transitions_total",
    "Subscription status changes made by the platform's sweeps and jobs, by target status.",
    ["to"],
)
RENEWALS = Counter(
    "fluxus_billing_renewals_total",
    "Due subscriptions renewed, by outcome (created, exists, skipped).",
    ["outcome"],
)
# Why a due subscription was not renewed (services.core.usecases.renewals.SkipReason).
RENEWAL_SKIP_KINDS = frozenset(
    {
        "not_found",
        "not_renewable",
        "moved_on",
        "no_period",
        "no_plan",
        "unknown_cycle",
        "end_before_anchor",
        "invalid_period",
    }
)
RENEWALS_SKIPPED = Counter(
    "fluxus_billing_renewals_skipped_total",
    "Due subscriptions a renewal batch skipped, by kind of reason (see RENEWAL_SKIP_KINDS).",
    ["kind"],
)
RECONCILIATIONS = Counter(
    "fluxus_billing_reconciliations_total",
    "Orders checked against ECPay, by outcome.",
    ["outcome"],
)
RECONCILIATION_DRIFT = Counter(
    "fluxus_billing_reconciliation_drift_total",
    "Orders whose state at ECPay differed from ours (a lost callback, a silent failure).",
    ["outcome"],
)
EINVOICE_OUTCOMES = frozenset({"issued", "recovered", "retry", "refused", "range_exhausted"})
EINVOICES = Counter(
    "fluxus_billing_einvoices_total",
    "E-invoice issue attempts at ECPay, by outcome (recovered: issued before, answer lost).",
    ["outcome"],
)

REFUND_METHODS = frozenset({"card", "manual"})
REFUND_OUTCOMES = frozenset({"succeeded", "confirmed", "failed"})
REFUNDS = Counter(
    "fluxus_payment_refunds_total",
    "Refunds finished, by method (card, manual) and outcome (succeeded, confirmed, failed).",
    ["method", "outcome"],
)
WEBHOOK_OUTCOMES = frozenset({"succeeded", "retrying", "failed", "disabled"})
WEBHOOK_DELIVERIES = Counter(
    "fluxus_billing_webhook_deliveries_total",
    "Outgoing webhook delivery attempts, by outcome (retrying: failed, another attempt due).",
    ["outcome"],
)

# --- Jobs (RQ) ------------------------------------------------------------------------------
JOBS_STARTED = Counter("fluxus_jobs_started_total", "Job attempts started.", ["job_name", "queue"])
JOBS_FINISHED = Counter(
    "fluxus_jobs_finished_total", "Job attempts that returned.", ["job_name", "queue"]
)
JOBS_FAILED = Counter(
    "fluxus_jobs_failed_total",
    "Job attempts that raised or timed out (retried or filed as failed).",
    ["job_name", "queue"],
)
JOB_DURATION = Histogram(
    "fluxus_job_duration_seconds",
    "Time one job attempt ran, by job and result (finished, failed).",
    ["job_name", "queue", "result"],
    buckets=_JOB_BUCKETS,
)

# --- Operator -------------------------------------------------------------------------------
RECONCILES = Counter(
    "fluxus_operator_reconciles_total",
    "Plan reconciliations by outcome (ok, temporary_error, permanent_error).",
    ["outcome"],
)
RECONCILE_DURATION = Histogram(
    "fluxus_operator_reconcile_duration_seconds",
    "Time one Plan reconciliation took.",
    ["outcome"],
    buckets=_LATENCY_BUCKETS,
)
PLAN_READY = Gauge(
    "fluxus_operator_plan_ready",
    "1 when the Plan resource is reconciled and ready, 0 when not.",
    ["plan"],
    multiprocess_mode="liveall",
)

# --- Account endpoints (brute-force limits) ------------------------------------------------
AUTH_THROTTLED = Counter(
    "fluxus_http_auth_throttled_total",
    "Account requests (log-in, refresh, registration, password reset) refused by the"
    " brute-force limits, by URL rule and kind (ip: one client address; account: one target"
    " account).",
    ["endpoint", "kind"],
)
LOGIN_FAILURES = Counter(
    "fluxus_http_login_failures_total",
    "Log-ins refused for a wrong username/e-mail or password, or an inactive account.",
    ["service"],
)

# Gauges computed on scrape by the scheduler (see the module comment).
SCRAPE_TIME_METRICS = frozenset(
    {
        "fluxus_billing_einvoices",
        "fluxus_billing_einvoices_oldest_pending_age_seconds",
        "fluxus_billing_mrr_twd",
        "fluxus_billing_subscriptions",
        "fluxus_billing_subscriptions_churned_30d",
        "fluxus_billing_renewal_lag_seconds",
        "fluxus_billing_renewals_due",
        "fluxus_billing_plan_grace_period_seconds",
        "fluxus_billing_dunning_subscriptions",
        "fluxus_billing_orders",
        "fluxus_billing_invoices",
        "fluxus_payment_notifications_unprocessed",
        "fluxus_payment_notifications_unprocessed_oldest_age_seconds",
        "fluxus_payment_reviews_open",
        "fluxus_payment_reviews_oldest_open_age_seconds",
        "fluxus_payment_agreements_cancelling",
        "fluxus_payment_agreements_cancelling_oldest_age_seconds",
        "fluxus_payment_refunds_attention",
        "fluxus_payment_refunds_oldest_in_flight_age_seconds",
        "fluxus_billing_webhook_deliveries",
        "fluxus_billing_webhook_oldest_failing_age_seconds",
        "fluxus_billing_mrr_movements_month_twd",
        "fluxus_billing_mrr_booked_twd",
        "fluxus_queue_depth",
        "fluxus_queue_oldest_job_age_seconds",
        "fluxus_queue_started_jobs",
        "fluxus_queue_failed_jobs",
        "fluxus_queue_workers",
        "fluxus_scrape_collector_errors_total",
        "fluxus_scrape_collector_duration_seconds",
    }
)


def _bounded(value: str, allowed: frozenset[str]) -> str:
    return value if value in allowed else "other"


def record_notification(kind: str, outcome: str) -> None:
    """One ECPay notification answered by the payment service (after it is stored)."""
    kind = _bounded(kind, frozenset({"return", "payment_info", "period"}))
    NOTIFICATIONS.labels(kind, _bounded(outcome, NOTIFICATION_OUTCOMES)).inc()


def observe_processing(outcome: str, seconds: float) -> None:
    """One stored notification applied by the worker (the job's outcome and duration)."""
    PROCESSED.labels(outcome).inc()
    PROCESSING_DURATION.labels(outcome).observe(seconds)


def observe_callback_to_active(outcome: str, seconds: float) -> None:
    """A paid notification's receipt → its subscription active (the worker records it)."""
    CALLBACK_TO_ACTIVE.labels(outcome).observe(max(0.0, seconds))


def record_drain(drained: dict[str, Any]) -> None:
    """What one drain_notifications job applied: [outcome, seconds applying it, seconds
    from the webhook storing it] per notification."""
    for outcome, seconds, since_received in drained.get("applied", []):
        observe_processing(outcome, seconds)
        if outcome == "completed":  # Outcome.COMPLETED: the order paid, the subscription on
            observe_callback_to_active(outcome, since_received)


# What lifecycle sweeps count (SweepResult.changed keys) → the status they moved to.
_SWEEP_TARGETS = {"activated": "active", "past_due": "past_due", "expired": "expired"}


def record_transitions(changed: dict[str, int]) -> None:
    """Subscription status changes counted by a sweep: {"past_due": 3, "expired": 1}."""
    for what, count in changed.items():
        if count:
            SUBSCRIPTION_TRANSITIONS.labels(_SWEEP_TARGETS.get(what, "other")).inc(count)


def record_subscription_transition(to: str) -> None:
    """One subscription status change made outside the sweeps (cancel, activate)."""
    SUBSCRIPTION_TRANSITIONS.labels(to).inc()


def record_renewals(counts: dict[str, int]) -> None:
    """One renewal batch's subscriptions by outcome: {"created": 498, "exists": 2, ...}."""
    for outcome, count in counts.items():
        if count:
            RENEWALS.labels(outcome).inc(count)


def record_renewal_skips(kinds: dict[str, int]) -> None:
    """One renewal batch's skipped subscriptions by kind of reason: {"no_plan": 1}."""
    for kind, count in kinds.items():
        if count:
            RENEWALS_SKIPPED.labels(_bounded(kind, RENEWAL_SKIP_KINDS)).inc(count)


def record_reconciliation(outcome: str) -> None:
    RECONCILIATIONS.labels(outcome).inc()
    if outcome in DRIFT_OUTCOMES:
        RECONCILIATION_DRIFT.labels(outcome).inc()


def record_einvoice(outcome: str) -> None:
    EINVOICES.labels(_bounded(outcome, EINVOICE_OUTCOMES)).inc()


def record_refund(method: str, outcome: str) -> None:
    REFUNDS.labels(_bounded(method, REFUND_METHODS), _bounded(outcome, REFUND_OUTCOMES)).inc()


def record_webhook_delivery(outcome: str) -> None:
    WEBHOOK_DELIVERIES.labels(_bounded(outcome, WEBHOOK_OUTCOMES)).inc()


def record_reconcile(outcome: str, seconds: float) -> None:
    """One operator reconciliation of a Plan resource (ok, temporary_error, permanent_error)."""
    RECONCILES.labels(outcome).inc()
    RECONCILE_DURATION.labels(outcome).observe(seconds)


def set_plan_ready(plan: str, ready: bool) -> None:
    PLAN_READY.labels(plan).set(1 if ready else 0)


def forget_plan(plan: str) -> None:
    """A deleted Plan resource: stop reporting it (a stale 0 would keep an alert firing)."""
    try:
        PLAN_READY.remove(plan)
    except KeyError:
        return


def record_auth_throttled(endpoint: str, kind: str) -> None:
    """One account request refused with 429 by the per-IP or per-account limits."""
    AUTH_THROTTLED.labels(endpoint, _bounded(kind, frozenset({"ip", "account"}))).inc()


def record_login_failure() -> None:
    LOGIN_FAILURES.labels("api").inc()
