"""Jobs: cancel a card agreement at ECPay until ECPay confirms; re-enqueue unconfirmed ones."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.exc import SQLAlchemyError

from services.core.db.session import get_engine, session_scope
from services.core.errors import FluxusError
from services.core.usecases.payments import agreements
from services.ecpay.errors import EcpayResponseError, EcpayUnavailable
from services.worker import context

log = logging.getLogger(__name__)


def cancel_card_agreement(agreement_id: str) -> str:
    """Retried with backoff by RQ (see the registry); the sweep below outlives RQ's retries."""
    try:
        with context.ecpay_gateway() as client, context.unit_of_work() as (session, _jobs):
            outcome = agreements.cancel_at_gateway(
                session, context.clock(), client, uuid.UUID(agreement_id)
            )
    except (EcpayResponseError, EcpayUnavailable) as exc:
        _remember_failure(agreement_id, exc)
        raise
    log.info("card agreement %s: %s", agreement_id, outcome)
    return outcome


def _remember_failure(agreement_id: str, exc: BaseException) -> None:
    try:
        with session_scope(get_engine(context.settings())) as session:
            agreements.record_cancel_failure(
                session, uuid.UUID(agreement_id), f"{type(exc).__name__}: {exc}"
            )
    except (FluxusError, SQLAlchemyError) as nested:
        log.warning("could not record the failure of agreement %s: %s", agreement_id, nested)


def sweep_agreement_cancellations() -> int:
    """Every agreement still waiting for ECPay's confirmation gets its job again."""
    round_ = f"sweep{int(context.clock().now().timestamp()) // 60}"
    with context.unit_of_work() as (session, jobs):
        pending = agreements.pending_cancellations(session)
        for agreement_id in pending:
            agreements.enqueue_cancel(jobs, agreement_id, round_)
    return len(pending)
