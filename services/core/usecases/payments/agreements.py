"""Card agreements (定期定額): opened by a paid checkout, cancelled at ECPay whenever the
subscription must not be charged again, and matched charge by charge to billing periods."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import CardAgreement, Order, PaymentAttempt, Subscription, User
from services.core.domain.periods import TAIPEI, BillingCycle, add_cycles
from services.core.ports import Jobs
from services.core.usecases import audit
from services.core.usecases.emails import queue_email
from services.ecpay.errors import EcpayResponseError
from services.ecpay.query import PeriodInfo

log = logging.getLogger(__name__)
CANCEL_JOB = "cancel_card_agreement"
# ECPay's answer when an agreement is already cancelled is unknown; the query decides.
EXEC_STATUS_CANCELLED = "0"
EXEC_STATUS_FINISHED = "2"


class AgreementStatus(StrEnum):
    ACTIVE = "active"
    CANCELLING = "cancelling"  # must not charge again; waiting for ECPay to confirm
    CANCELLED = "cancelled"  # ECPay confirmed (QueryCreditCardPeriodInfo ExecStatus 0)
    ENDED = "ended"  # ECPay stopped it by itself (charges used up, or too many declines)


class PeriodGateway(Protocol):
    """What cancelling asks ECPay (services.ecpay.client.EcpayClient fits)."""

    def period_action(self, merchant_trade_no: str, action: str) -> object: ...

    def query_period(self, merchant_trade_no: str) -> PeriodInfo: ...


def _signed_by(attempt: PaymentAttempt, subscription_id: uuid.UUID, charged_at: datetime,
               **state: object) -> CardAgreement:
    """The agreement ECPay signed with `attempt`'s periodic terms (its first charge done)."""
    terms = attempt.periodic or {}
    return CardAgreement(
        subscription_id=subscription_id, merchant_trade_no=attempt.merchant_trade_no,
        period_type=str(terms.get("period_type", "M")),
        frequency=int(terms.get("frequency", 1)), exec_times=int(terms.get("exec_times", 99)),
        period_amount=int(terms.get("period_amount", 0)), first_charged_at=charged_at,
        cancel_attempts=0, **state,
    )


def open_agreement(
    session: Session, *, sub: Subscription, attempt: PaymentAttempt, period_index: int,
    charged_at: datetime,
) -> CardAgreement:
    """The agreement a paid periodic checkout set up; the subscription now renews by it."""
    agreement = _signed_by(attempt, sub.id, charged_at, status=AgreementStatus.ACTIVE.value,
                           first_period_index=period_index)
    session.add(agreement)
    sub.period_agreement_no = attempt.merchant_trade_no
    session.flush()
    return agreement


def stop_unapplied(session: Session, clock: Clock, jobs: Jobs, *, order: Order,
                   attempt: PaymentAttempt, charged_at: datetime, reason: str) -> None:
    """A paid periodic checkout whose money went to review (the order closed, the
    subscription cancelled, a second payment) still signed an agreement at ECPay, which
    would charge every period: record it as cancelling, never renewing anything, and have
    the cancel job stop it at ECPay. The subscription's own live agreement is untouched."""
    if by_trade_no(session, attempt.merchant_trade_no) is not None:
        return
    agreement = _signed_by(attempt, order.subscription_id, charged_at,
                           status=AgreementStatus.CANCELLING.value, first_period_index=0,
                           cancel_reason=reason[:200], cancel_requested_at=clock.now())
    session.add(agreement)
    session.flush()
    audit.record(
        session, audit.SYSTEM, "card_agreement.cancel_requested",
        resource_type="card_agreement", resource_id=agreement.id, user_id=order.user_id,
        description=reason[:500], meta={"merchant_trade_no": agreement.merchant_trade_no},
    )
    enqueue_cancel(jobs, agreement.id)


def by_trade_no(session: Session, merchant_trade_no: str) -> CardAgreement | None:
    return session.scalars(
        select(CardAgreement)
        .where(CardAgreement.merchant_trade_no == merchant_trade_no)
        .with_for_update()
    ).one_or_none()


def of_subscription(session: Session, subscription_id: uuid.UUID) -> list[CardAgreement]:
    return list(session.scalars(
        select(CardAgreement).where(CardAgreement.subscription_id == subscription_id)
        .order_by(CardAgreement.created_at)
    ))


def request_cancel(
    session: Session, clock: Clock, jobs: Jobs, sub: Subscription, reason: str
) -> int:
    """Stop every live agreement of `sub` from charging again: at once here (renewals go by
    payment link from now on), and at ECPay by a job retried until ECPay confirms."""
    now, count = clock.now(), 0
    for agreement in of_subscription(session, sub.id):
        if agreement.status != AgreementStatus.ACTIVE:
            continue
        agreement.status = AgreementStatus.CANCELLING.value
        agreement.cancel_reason = reason[:200]
        agreement.cancel_requested_at = now
        audit.record(
            session, audit.SYSTEM, "card_agreement.cancel_requested",
            resource_type="card_agreement", resource_id=agreement.id, user_id=sub.user_id,
            description=reason[:500], meta={"merchant_trade_no": agreement.merchant_trade_no},
        )
        enqueue_cancel(jobs, agreement.id)
        count += 1
    sub.period_agreement_no = None
    return count


def enqueue_cancel(jobs: Jobs, agreement_id: uuid.UUID, round_: str = "") -> None:
    """`round_` names a sweep's round: a job whose RQ retries are still pending or spent
    keeps its id, so a sweep needs an id of its own to ask again."""
    suffix = f"-{round_}" if round_ else ""
    jobs.enqueue(CANCEL_JOB, str(agreement_id), job_id=f"cancel-agreement-{agreement_id}{suffix}")


def _confirmed(info: PeriodInfo) -> bool:
    return info.exec_status in (EXEC_STATUS_CANCELLED, EXEC_STATUS_FINISHED)


def cancel_at_gateway(session: Session, clock: Clock, gateway: PeriodGateway,
                      agreement_id: uuid.UUID) -> str:
    """Ask ECPay to cancel, then confirm with QueryCreditCardPeriodInfo.

    A refusal (e.g. already cancelled) is not trusted alone: only the query's ExecStatus
    closes the agreement. Anything short of confirmation raises, so the job retries.
    """
    agreement = session.get(CardAgreement, agreement_id)
    if agreement is None or agreement.status != AgreementStatus.CANCELLING:
        return "nothing_to_do"
    try:
        gateway.period_action(agreement.merchant_trade_no, "Cancel")
    except EcpayResponseError as exc:
        log.info("ECPay refused to cancel %s (%s); asking for its state",
                 agreement.merchant_trade_no, exc.message)
    info = gateway.query_period(agreement.merchant_trade_no)
    if not _confirmed(info):
        raise EcpayResponseError(
            f"agreement {agreement.merchant_trade_no} still runs at ECPay "
            f"(ExecStatus {info.exec_status or 'missing'})"
        )
    locked = session.scalars(
        select(CardAgreement).where(CardAgreement.id == agreement_id).with_for_update()
    ).one()
    locked.status = AgreementStatus.CANCELLED.value
    locked.cancelled_at = clock.now()
    locked.last_error = None
    audit.record(
        session, audit.SYSTEM, "card_agreement.cancelled", resource_type="card_agreement",
        resource_id=locked.id, meta={"merchant_trade_no": locked.merchant_trade_no,
                                     "exec_status": info.exec_status},
    )
    return "cancelled"


def record_cancel_failure(session: Session, agreement_id: uuid.UUID, error: str) -> None:
    agreement = session.get(CardAgreement, agreement_id)
    if agreement is not None:
        agreement.cancel_attempts += 1
        agreement.last_error = error[:500]


def pending_cancellations(session: Session, *, limit: int = 500) -> list[uuid.UUID]:
    return list(session.scalars(
        select(CardAgreement.id)
        .where(CardAgreement.status == AgreementStatus.CANCELLING.value)
        .order_by(CardAgreement.cancel_requested_at)
        .limit(limit)
    ))


def mark_ended(session: Session, clock: Clock, jobs: Jobs, agreement: CardAgreement,
               sub: Subscription, why: str) -> None:
    """ECPay stopped charging: renewals fall back to payment links, and the customer hears."""
    if agreement.status not in (AgreementStatus.ACTIVE, AgreementStatus.CANCELLING):
        return
    agreement.status = AgreementStatus.ENDED.value
    agreement.cancel_reason = why[:200]
    agreement.cancelled_at = clock.now()
    if sub.period_agreement_no == agreement.merchant_trade_no:
        sub.period_agreement_no = None
    audit.record(
        session, audit.SYSTEM, "card_agreement.ended", resource_type="card_agreement",
        resource_id=agreement.id, user_id=sub.user_id, description=why[:500],
    )
    queue_email(
        session, jobs, template="card_agreement_ended", user=session.get_one(User, sub.user_id),
        event_key=f"card_agreement_ended:{agreement.id}",
        context={"subscription_id": str(sub.id), "reason": why[:200]},
    )


def _cycle_step(agreement: CardAgreement) -> tuple[str, int]:
    return agreement.period_type, agreement.frequency


def charge_index(agreement: CardAgreement, process_date: datetime) -> int:
    """Which charge after the first authorization ECPay's schedule ran at `process_date`:
    the scheduled date (first charge + k steps, Taipei calendar) nearest to it. Dates, not
    counts: a declined charge never shifts the ones after it."""
    period_type, frequency = _cycle_step(agreement)
    first = agreement.first_charged_at.astimezone(TAIPEI).date()
    day = process_date.astimezone(TAIPEI).date()
    if period_type == "D":
        return round((day - first).days / frequency)
    months = frequency * (12 if period_type == "Y" else 1)
    guess = ((day.year - first.year) * 12 + day.month - first.month) // months

    def distance(k: int) -> int:
        moved = add_cycles(agreement.first_charged_at, BillingCycle.MONTHLY, k * months)
        return abs((moved.astimezone(TAIPEI).date() - day).days)

    return min((k for k in (guess - 1, guess, guess + 1) if k >= 0), key=distance)
