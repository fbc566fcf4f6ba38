"""Staff ask for a refund (never more than was paid, once per Idempotency-Key), list an
order's refunds, and confirm a manual bank transfer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import Order, PaymentAttempt, PaymentReview, Refund, User
from services.core.domain.states import LIVE_SUBSCRIPTION_STATES, OrderStatus, SubscriptionStatus
from services.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from services.core.ports import Jobs
from services.core.usecases import audit, subscriptions
from services.core.usecases.audit import Actor
from services.core.usecases.orders import get_order
from services.core.usecases.payments.reviews import ReviewStatus
from services.core.usecases.refunds import periodic, settle
from services.core.usecases.refunds.states import (
    COUNTED,
    CancelChoice,
    RefundMethod,
    RefundStatus,
)
from services.core.usecases.refunds.unused import (
    UNUSED,
    refuse_partial_periodic,
    unused_days,
)

RUN_JOB = "run_refund"
REASON_MAX = 500


def run_job_id(refund_id: uuid.UUID, round_: str = "") -> str:
    return f"refund-{refund_id}" + (f"-{round_}" if round_ else "")


@dataclass(frozen=True)
class PlacedRefund:
    refund: Refund
    created: bool


def _staff(caller: User) -> None:
    if not caller.is_staff:
        raise PermissionDenied("Only staff can refund.")


def _whole_amount(amount: Decimal) -> Decimal:
    if amount <= 0 or amount != amount.to_integral_value():
        raise ValidationError("The amount is a positive whole number of NT$.",
                              errors={"amount": ["a positive whole number"]})
    return amount.quantize(Decimal(1))


def _replay(session: Session, order_id: uuid.UUID, key: str, amount: Decimal | None,
            reason: str, cancel: str, review_id: uuid.UUID | None) -> Refund | None:
    earlier = session.scalars(select(Refund).where(
        Refund.order_id == order_id, Refund.idempotency_key == key)).one_or_none()
    if earlier is None:
        return None
    # `amount` None is "the unused days": worth less each day, so a retry answers whatever
    # the first request computed.
    if (earlier.amount if amount is None else amount, reason, cancel, review_id) != (
            earlier.amount, earlier.reason, earlier.cancel_subscription, earlier.review_id):
        raise Conflict("This Idempotency-Key was used for another refund of this order.",
                       code="idempotency_key_reused")
    return earlier


def _counted(session: Session, *where: object) -> Decimal:
    total = session.scalar(select(func.coalesce(func.sum(Refund.amount), 0)).where(
        Refund.status.in_(COUNTED), *where))  # type: ignore[arg-type]
    return Decimal(total or 0)


def _paid_attempt(session: Session, order: Order, merchant_trade_no: str | None = None
                  ) -> PaymentAttempt | None:
    query = select(PaymentAttempt).where(PaymentAttempt.order_id == order.id)
    if merchant_trade_no:
        query = query.where(PaymentAttempt.merchant_trade_no == merchant_trade_no)
    else:
        query = query.where(PaymentAttempt.status == "paid")
    return session.scalars(query.limit(1)).first()


def _room(session: Session, order: Order, amount: Decimal, review: PaymentReview | None) -> None:
    """Refuse more than was paid: the order's amount, or a review item's extra money."""
    if review is not None:
        paid = review.amount or Decimal(0)
        left = paid - _counted(session, Refund.review_id == review.id)
    else:
        if order.status != OrderStatus.COMPLETED.value:
            raise Conflict(f"A {order.status} order has nothing to refund.", code="not_refundable")
        paid = order.amount
        left = paid - _counted(session, Refund.order_id == order.id, Refund.review_id.is_(None))
    if amount > left:
        raise Conflict(f"Only NT${left} of NT${paid} is left to refund.",
                       code="refund_exceeds_paid", errors={"amount": [f"at most {left}"]})


def _review(session: Session, order: Order, review_id: uuid.UUID | None) -> PaymentReview | None:
    if review_id is None:
        return None
    review = session.get(PaymentReview, review_id, with_for_update=True)
    if review is None or review.order_id != order.id:
        raise NotFound("No such review item for this order.")
    if review.status != ReviewStatus.REFUND_NEEDED.value:
        raise Conflict("Only a review item decided as refund_needed can be refunded.",
                       code="review_not_refund_needed")
    return review


def _trade(session: Session, order: Order, review: PaymentReview | None) -> tuple[str, str, str]:
    """(method, MerchantTradeNo, TradeNo): by card when ECPay holds a card trade to act on.

    A 定期定額 renewal is charged by the agreement under the first checkout's number; ECPay
    documents no DoAction for those later charges, so they are refunded by hand, and so is
    the first charge once the agreement has charged again (see refunds.periodic)."""
    if review is not None:
        attempt = _paid_attempt(session, order, review.merchant_trade_no)
        method = attempt.method if attempt is not None else order.payment_method
        merchant_trade_no, trade_no = review.merchant_trade_no, review.gateway_trade_no
    else:
        attempt = _paid_attempt(session, order)
        method = order.payment_method
        merchant_trade_no = attempt.merchant_trade_no if attempt else ""
        trade_no = (attempt.trade_no if attempt else None) or order.ecpay_trade_no or ""
    if method == "credit_card" and merchant_trade_no and trade_no \
            and not periodic.charged_again(session, merchant_trade_no):
        return RefundMethod.CARD.value, merchant_trade_no[:20], trade_no[:20]
    return RefundMethod.MANUAL.value, merchant_trade_no[:20], trade_no[:20]


def _cancel(session: Session, clock: Clock, jobs: Jobs, actor: Actor, caller: User,
            order: Order, choice: str) -> None:
    if choice == CancelChoice.NO.value:
        return
    sub = subscriptions.get_subscription(session, caller, order.subscription_id)
    if sub.status not in {s.value for s in LIVE_SUBSCRIPTION_STATES}:
        return
    subscriptions.change_status(session, clock, jobs, actor, caller, sub.id,
                                status=SubscriptionStatus.CANCELLED.value,
                                at_period_end=choice == CancelChoice.AT_PERIOD_END.value)


def request_refund(session: Session, clock: Clock, jobs: Jobs, actor: Actor, caller: User,
                   order_id: uuid.UUID, *, amount: Decimal | str, reason: str,
                   cancel_subscription: str, idempotency_key: str,
                   review_id: uuid.UUID | None = None) -> PlacedRefund:
    """Record a refund of ``amount`` (staff only). The order row is locked first, so two staff
    refunding at once are served one after the other and the second sees the first.

    ``amount`` ``"unused"`` refunds the days left of the period the order paid, day-based,
    and needs ``cancel_subscription="now"`` (see refunds.unused)."""
    _staff(caller)
    wants_unused = amount == UNUSED
    asked = None if wants_unused else _whole_amount(Decimal(amount))
    reason = reason.strip()[:REASON_MAX]
    if not reason:
        raise ValidationError("Say why.", errors={"reason": ["required"]})
    if cancel_subscription not in {c.value for c in CancelChoice}:
        raise ValidationError("cancel_subscription is now, at_period_end or no.")
    order = session.get(Order, order_id, with_for_update=True)
    if order is None:
        raise NotFound("Order not found.")
    earlier = _replay(session, order.id, idempotency_key, asked, reason, cancel_subscription,
                      review_id)
    if earlier is not None:
        return PlacedRefund(earlier, created=False)
    review = _review(session, order, review_id)
    days = None
    if asked is None:
        if review is not None:
            raise ValidationError("A review item's money is refunded by amount.",
                                  errors={"amount": ["an amount in NT$"]})
        days = unused_days(order, clock.now(), cancel_subscription)
        money = days.amount
    else:
        money = asked
    _room(session, order, money, review)
    method, merchant_trade_no, trade_no = _trade(session, order, review)
    card = method == RefundMethod.CARD.value
    if card and review is None:
        refuse_partial_periodic(session, order, merchant_trade_no, money, _counted(
            session, Refund.order_id == order.id, Refund.review_id.is_(None)))
    refund = Refund(
        order_id=order.id, user_id=order.user_id, amount=money, currency=order.currency,
        reason=reason, method=method, idempotency_key=idempotency_key, requested_by=caller.id,
        status=(RefundStatus.REQUESTED if card else RefundStatus.OWED).value,
        cancel_subscription=cancel_subscription, review_id=review_id,
        merchant_trade_no=merchant_trade_no, trade_no=trade_no, gateway_actions={"calls": []},
        next_attempt_at=clock.now() if card else None, einvoice_status="pending",
        created_at=clock.now(),
    )
    session.add(refund)
    session.flush()
    _cancel(session, clock, jobs, actor, caller, order, cancel_subscription)
    audit.record(session, actor, "refund.requested", resource_type="order", resource_id=order.id,
                 user_id=order.user_id,
                 description=f"Refund NT${money} ({method}) asked: {reason}"[:500],
                 meta={"refund_id": str(refund.id), "cancel_subscription": cancel_subscription,
                       "review_id": str(review_id) if review_id else None,
                       "unused_days": None if days is None else
                       f"{days.remaining_days}/{days.period_days}"})
    if card:
        jobs.enqueue(RUN_JOB, str(refund.id), job_id=run_job_id(refund.id))
    return PlacedRefund(refund, created=True)


def list_refunds(session: Session, caller: User, order_id: uuid.UUID) -> list[Refund]:
    """An order's refunds, oldest first: staff, or the customer for their own order."""
    get_order(session, caller, order_id)
    return list(session.scalars(
        select(Refund).where(Refund.order_id == order_id).order_by(Refund.created_at, Refund.id)))


def confirm_transfer(session: Session, clock: Clock, jobs: Jobs, actor: Actor, caller: User,
                     refund_id: uuid.UUID, *, reference: str) -> Refund:
    """Staff made the bank transfer of an owed manual refund: record its reference."""
    _staff(caller)
    reference = reference.strip()
    if not reference:
        raise ValidationError("The transfer reference is required.",
                              errors={"reference": ["required"]})
    found = session.get(Refund, refund_id)
    if found is None:
        raise NotFound("Refund not found.")
    order = session.get_one(Order, found.order_id, with_for_update=True)
    refund = session.get_one(Refund, refund_id, with_for_update=True, populate_existing=True)
    if refund.status == RefundStatus.CONFIRMED.value:
        if refund.transfer_reference == reference:
            return refund
        raise Conflict("This refund was confirmed with another reference.",
                       code="refund_already_confirmed")
    if refund.status != RefundStatus.OWED.value:
        raise Conflict(f"A {refund.status} {refund.method} refund is not a transfer to confirm.",
                       code="refund_not_owed")
    refund.transfer_reference, refund.confirmed_by = reference[:100], caller.id
    settle.money_back(session, clock, jobs, order, refund, RefundStatus.CONFIRMED)
    audit.record(session, actor, "refund.confirmed", resource_type="order", resource_id=order.id,
                 user_id=order.user_id, description=f"Transfer {reference[:100]} confirmed",
                 meta={"refund_id": str(refund.id)})
    return refund


def refund_review(session: Session, clock: Clock, jobs: Jobs, actor: Actor, caller: User,
                  review_id: uuid.UUID, *, amount: Decimal | None, reason: str,
                  idempotency_key: str) -> PlacedRefund:
    """Refund a review item decided refund_needed (its whole amount unless told less)."""
    _staff(caller)
    review = session.get(PaymentReview, review_id)
    if review is None:
        raise NotFound("Review item not found.")
    if review.order_id is None:
        raise Conflict("This money names no order of ours: refund it in ECPay's vendor "
                       "dashboard and resolve the item.", code="review_without_order")
    return request_refund(session, clock, jobs, actor, caller, review.order_id,
                          amount=amount if amount is not None else (review.amount or Decimal(0)),
                          reason=reason, cancel_subscription=CancelChoice.NO.value,
                          idempotency_key=idempotency_key, review_id=review_id)
