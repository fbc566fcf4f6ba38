"""Payment jobs: apply the new stored ECPay notifications, or one of them again after a
failure; sweep the ones never processed."""

from __future__ import annotations

import logging
import time
from typing import Any

from redis.exceptions import RedisError
from rq.timeouts import JobTimeoutException
from sqlalchemy.exc import SQLAlchemyError

from services.core.db.session import get_engine, session_scope
from services.core.errors import FluxusError
from services.core.usecases import payment_notifications, payment_processing
from services.worker import context
from services.worker.queues import answer_doorbell

log = logging.getLogger(__name__)


def process_notification(notification_id: str) -> str:
    """Apply the notification in one transaction; errors propagate so RQ retries it."""
    try:
        with context.unit_of_work() as (session, jobs):
            result = payment_processing.process_notification(
                session, context.clock(), jobs, notification_id, context.settings()
            )
    except BaseException as exc:
        _remember_failure(notification_id, exc)
        raise
    log.info(
        "payment notification processed",
        extra={"notification_id": notification_id, "outcome": str(result.outcome)},
    )
    return str(result.outcome)


def _remember_failure(notification_id: str, exc: BaseException) -> bool:
    # The job's transaction is gone; a fresh one keeps attempts and the error for operators.
    try:
        with session_scope(get_engine(context.settings())) as session:
            payment_processing.record_processing_error(
                session, notification_id, f"{type(exc).__name__}: {exc}"
            )
    except (FluxusError, SQLAlchemyError) as nested:
        log.warning("could not record the failure of notification %s: %s", notification_id, nested)
        return False
    return True


# One drain stops after this many notifications or seconds (well inside the job's timeout
# and the workers' shutdown grace) and rings for a successor if work is left.
DRAIN_MOST = 500
DRAIN_SECONDS = 60.0


def drain_notifications() -> dict[str, Any]:
    """Apply new accepted notifications oldest first, one transaction each, until none is
    left. A notification that fails is counted as tried and handed to its own
    process_notification job, whose retries back off; the drain goes on with the next.

    Returns what the worker's metrics record: [outcome, seconds applying it, seconds since
    the webhook stored it] per notification.
    """
    answer_doorbell(context.redis(), payment_notifications.DRAIN_JOB)
    applied: list[list[Any]] = []
    deadline = time.monotonic() + DRAIN_SECONDS
    while len(applied) < DRAIN_MOST and time.monotonic() < deadline:
        started = time.monotonic()
        claimed_id: str | None = None
        try:
            with context.unit_of_work() as (session, jobs):
                note = payment_processing.claim_next_new(session)
                if note is None:
                    return {"applied": applied}
                claimed_id, received_at = str(note.id), note.received_at
                result = payment_processing.apply_claimed(
                    session, context.clock(), jobs, note, context.settings()
                )
        except BaseException as exc:
            if claimed_id is None or not _remember_failure(claimed_id, exc):
                raise  # the claim itself failed (database away): RQ retries the drain
            _retry_alone(claimed_id, exc)
            if isinstance(exc, JobTimeoutException) or not isinstance(exc, Exception):
                raise  # out of time, or the worker is stopping: the drain ends here
            continue
        waited = (context.clock().now() - received_at).total_seconds()
        applied.append([str(result.outcome), time.monotonic() - started, waited])
        log.info("payment notification processed",
                 extra={"notification_id": claimed_id, "outcome": str(result.outcome)})
    with context.unit_of_work() as (_session, jobs):
        jobs.enqueue(payment_notifications.DRAIN_JOB)  # work may be left: ring again
    return {"applied": applied}


def _retry_alone(notification_id: str, exc: BaseException) -> None:
    log.warning("payment notification failed in the drain; retried by its own job",
                extra={"notification_id": notification_id, "error": f"{type(exc).__name__}"})
    try:
        with context.unit_of_work() as (_session, jobs):
            payment_notifications.enqueue_processing(jobs, notification_id)
    except RedisError:
        log.warning("could not enqueue the retry of notification %s; the sweeper will",
                    notification_id)


def sweep_notifications() -> int:
    """Re-enqueue accepted notifications still unprocessed after a minute (Redis was down)."""
    with context.unit_of_work() as (session, jobs):
        swept = payment_notifications.sweep_unprocessed(session, context.clock(), jobs)
    if swept:
        log.info("re-enqueued unprocessed payment notifications", extra={"count": len(swept)})
    return len(swept)
