"""Payment jobs: apply one stored ECPay notification; sweep the ones never processed."""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from services.core.db.session import get_engine, session_scope
from services.core.errors import FluxusError
from services.core.usecases import payment_notifications, payment_processing
from services.worker import context

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


def _remember_failure(notification_id: str, exc: BaseException) -> None:
    # The job's transaction is gone; a fresh one keeps attempts and the error for operators.
    try:
        with session_scope(get_engine(context.settings())) as session:
            payment_processing.record_processing_error(
                session, notification_id, f"{type(exc).__name__}: {exc}"
            )
    except (FluxusError, SQLAlchemyError) as nested:
        log.warning("could not record the failure of notification %s: %s", notification_id, nested)


def sweep_notifications() -> int:
    """Re-enqueue accepted notifications still unprocessed after a minute (Redis was down)."""
    with context.unit_of_work() as (session, jobs):
        swept = payment_notifications.sweep_unprocessed(session, context.clock(), jobs)
    if swept:
        log.info("re-enqueued unprocessed payment notifications", extra={"count": len(swept)})
    return len(swept)
