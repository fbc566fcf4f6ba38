"""Every job by name: where it lives, its queue, its retry policy and timeout — in one place."""

from __future__ import annotations

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


JOBS: dict[str, JobSpec] = {
    "process_notification": JobSpec(
        "services.worker.jobs.payments.process_notification", PAYMENTS, (5, 30, 120, 600), 120
    ),
    "send_email": JobSpec(
        "services.worker.jobs.email.send_email", EMAIL, (30, 120, 600, 1800, 3600), 60
    ),
    "render_invoice_pdf": JobSpec(
        "services.worker.jobs.invoices.render_invoice_pdf", INVOICES, (30, 300, 1800), 120
    ),
    "renew_subscription": JobSpec(
        "services.worker.jobs.renewals.renew_subscription", RENEWALS, (60, 300, 1800), 120
    ),
    "reconcile_order": JobSpec(
        "services.worker.jobs.reconciliation.reconcile_order", MAINTENANCE, (60, 600), 120
    ),
}


def spec(job: str) -> JobSpec:
    try:
        return JOBS[job]
    except KeyError:
        raise KeyError(f"unknown job {job!r}; register it in services.worker.registry") from None
