"""Every job by name: where it lives, its queue, its retry policy and timeout — in one place."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Queue names; workers are started per group (see the chart's worker.queues).
PAYMENTS = "payments"
INVOICES = "invoices"
EMAIL = "email"
RENEWALS = "renewals"
MAINTENANCE = "maintenance"
ALL_QUEUES = (PAYMENTS, INVOICES, EMAIL, RENEWALS, MAINTENANCE)


@dataclass(frozen=True)
class JobSpec:
    func: str  # dotted path, imported by the worker only
    queue: str
    retry_intervals: tuple[int, ...]  # seconds between attempts; len() = max retries
    timeout: int  # seconds before RQ kills the job
    # Coalesced jobs take no arguments and look for their work in the database: however many
    # ask for one, one is queued at a time (a doorbell key in Redis, see queues.enqueue_all).
    coalesced: bool = False


JOBS: dict[str, JobSpec] = {
    # New accepted notifications, taken from the table in order (SKIP LOCKED), so the webhook
    # only stores and rings; a notification that fails here is retried by process_notification.
    "drain_notifications": JobSpec(
        "services.worker.jobs.payments.drain_notifications", PAYMENTS, (5, 30, 120), 120,
        coalesced=True,
    ),
    "process_notification": JobSpec(
        "services.worker.jobs.payments.process_notification", PAYMENTS, (5, 30, 120, 600), 120
    ),
    "send_email": JobSpec(
        "services.worker.jobs.email.send_email", EMAIL, (30, 120, 600, 1800, 3600), 60
    ),
    # A batch (a renewal run's payment links): up to a renewal batch of messages per job.
    # Within the workers' shutdown grace (330 s); a batch cut short is retried, and what was
    # sent is skipped.
    "send_emails": JobSpec(
        "services.worker.jobs.email.send_emails", EMAIL, (30, 120, 600, 1800, 3600), 300
    ),
    "render_invoice_pdf": JobSpec(
        "services.worker.jobs.invoices.render_invoice_pdf", INVOICES, (30, 300, 1800), 120
    ),
    "renew_subscriptions": JobSpec(
        "services.worker.jobs.renewals.renew_subscriptions", RENEWALS, (60, 300, 1800), 300
    ),
    "reconcile_order": JobSpec(
        "services.worker.jobs.reconciliation.reconcile_order", MAINTENANCE, (60, 600), 120
    ),
    # Until ECPay confirms, a cancelled agreement could still charge: retried for ~a day.
    "cancel_card_agreement": JobSpec(
        "services.worker.jobs.agreements.cancel_card_agreement", MAINTENANCE,
        (30, 120, 600, 1800, 3600, 3600, 7200, 7200, 14400, 28800), 120,
    ),
    # Transient ECPay failures are kept on the row (next_attempt_at) and swept, not raised;
    # RQ's retries cover a crash of the job itself.
    "issue_einvoice": JobSpec(
        "services.worker.jobs.einvoices.issue_einvoice", INVOICES, (30, 120, 600), 120
    ),
    # Refund saga steps keep their back-off on the row and are swept (like issue_einvoice).
    "run_refund": JobSpec("services.worker.jobs.refunds.run_refund", PAYMENTS, (30, 120, 600), 120),
    "correct_refund_einvoice": JobSpec(
        "services.worker.jobs.refunds.correct_refund_einvoice", INVOICES, (30, 120, 600), 120
    ),
    # Periodic sweeps (scheduled by `fluxus scheduler`): the next tick is their retry.
    "expire_subscriptions": JobSpec(
        "services.worker.jobs.periodic.expire_subscriptions", MAINTENANCE, (), 300
    ),
    "end_trials": JobSpec("services.worker.jobs.periodic.end_trials", MAINTENANCE, (), 300),
    "run_dunning": JobSpec("services.worker.jobs.periodic.run_dunning", MAINTENANCE, (), 300),
    "reconcile_orders": JobSpec(
        "services.worker.jobs.periodic.reconcile_orders", MAINTENANCE, (), 300
    ),
    "sweep_notifications": JobSpec(
        "services.worker.jobs.payments.sweep_notifications", MAINTENANCE, (), 300
    ),
    "sweep_email_deliveries": JobSpec(
        "services.worker.jobs.periodic.sweep_email_deliveries", MAINTENANCE, (), 120
    ),
    "sweep_agreement_cancellations": JobSpec(
        "services.worker.jobs.agreements.sweep_agreement_cancellations", MAINTENANCE, (), 120
    ),
    "sweep_einvoices": JobSpec(
        "services.worker.jobs.einvoices.sweep_einvoices", MAINTENANCE, (), 120
    ),
    "sweep_refunds": JobSpec("services.worker.jobs.refunds.sweep_refunds", MAINTENANCE, (), 120),
    "prune_expired_tokens": JobSpec(
        "services.worker.jobs.periodic.prune_expired_tokens", MAINTENANCE, (), 300
    ),
    # A delivery keeps its schedule on the row (Standard Webhooks: 5 s … 24 h) and is swept.
    "deliver_webhook": JobSpec(
        "services.worker.jobs.webhooks.deliver_webhook", MAINTENANCE, (30, 120), 60
    ),
    "sweep_webhooks": JobSpec("services.worker.jobs.webhooks.sweep_webhooks", MAINTENANCE, (), 60),
    "prune_webhook_events": JobSpec(
        "services.worker.jobs.webhooks.prune_webhook_events", MAINTENANCE, (), 300
    ),
    # A test clock's advance (staff, FLUXUS_TEST_CLOCKS): not retried, the clock shows failed.
    # Within the workers' shutdown grace like every job; each boundary commits on its own, so
    # a very long advance that times out is continued by advancing again.
    "advance_test_clock": JobSpec(
        "services.worker.jobs.test_clocks.advance_test_clock", RENEWALS, (), 300
    ),
    "recover_abandoned_jobs": JobSpec(
        "services.worker.jobs.periodic.recover_abandoned_jobs", MAINTENANCE, (), 60
    ),
}


@dataclass(frozen=True)
class PeriodicJob:
    job: str  # a name in JOBS
    every: int  # seconds between runs


# What `fluxus scheduler` registers; each runs under the fixed id "periodic:<job>".
PERIODIC: tuple[PeriodicJob, ...] = (
    PeriodicJob("recover_abandoned_jobs", 60),
    PeriodicJob("sweep_notifications", 120),
    PeriodicJob("sweep_email_deliveries", 300),
    PeriodicJob("expire_subscriptions", 300),
    PeriodicJob("end_trials", 300),
    PeriodicJob("run_dunning", 300),
    PeriodicJob("reconcile_orders", 600),
    PeriodicJob("sweep_agreement_cancellations", 900),
    PeriodicJob("sweep_einvoices", 60),
    PeriodicJob("sweep_refunds", 60),
    PeriodicJob("prune_expired_tokens", 3600),
    PeriodicJob("sweep_webhooks", 30),
    PeriodicJob("prune_webhook_events", 3600),
)


def spec(job: str) -> JobSpec:
    try:
        return JOBS[job]
    except KeyError:
        raise KeyError(f"unknown job {job!r}; register it in services.worker.registry") from None


def job_modules(queues: Iterable[str]) -> list[str]:
    """The modules holding the jobs of `queues`, for a worker to import before it forks."""
    wanted = set(queues)
    return sorted({spec.func.rpartition(".")[0] for spec in JOBS.values() if spec.queue in wanted})
