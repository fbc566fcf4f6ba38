"""Jobs: send recorded e-mails, one or a batch (retried with the registry's backoff when SMTP
fails)."""

from __future__ import annotations

import logging
import uuid

from rq import get_current_job

from services.core.usecases.email_delivery import deliver_email
from services.worker import context
from services.worker.mailer import SmtpMailer

log = logging.getLogger(__name__)


class EmailNotSent(RuntimeError):
    """Raised after the failed attempt is recorded, so RQ retries or files the job as failed."""


def _last_attempt() -> bool:
    job = get_current_job()
    return job is not None and not job.retries_left


def send_email(delivery_id: str) -> str:
    settings = context.settings()
    with context.unit_of_work() as (session, _jobs):
        outcome = deliver_email(
            session,
            context.clock(),
            SmtpMailer(settings),
            settings,
            delivery_id=uuid.UUID(delivery_id),
            give_up=_last_attempt(),
        )
    log.info("e-mail %s: %s", delivery_id, outcome.status)
    if outcome.error:
        raise EmailNotSent(f"e-mail {delivery_id}: {outcome.error}")
    return outcome.status


def send_emails(delivery_ids: list[str]) -> dict[str, int]:
    """Send a batch, each message in its own unit of work (one failure costs no other its
    message); a retry of the batch skips what was sent. Counts by outcome."""
    counts: dict[str, int] = {}
    failed = []
    for delivery_id in delivery_ids:
        try:
            outcome = send_email(delivery_id)
        except EmailNotSent as exc:
            failed.append(str(exc))
            outcome = "retry"
        counts[outcome] = counts.get(outcome, 0) + 1
    if failed:
        raise EmailNotSent(f"{len(failed)} of {len(delivery_ids)} e-mails not sent: {failed[0]}")
    return counts
