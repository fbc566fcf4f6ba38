"""Completing a paid order exactly once — or parking the money for review when it cannot be
applied (a second payment, a closed order, a cancelled subscription, a wrong amount)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.config import Settings, get_settings
from services.core.crypto import encrypt_json
from services.core.db.models import (
    Invoice,
    Order,
    PaymentAttempt,
    Plan,
    PlanChange,
    Subscription,
    User,
)
from services.core.domain.money import to_twd
from services.core.domain.periods import BillingCycle, period_number
from services.core.domain.states import OrderStatus, SubscriptionStatus
from services.core.errors import NotFound
from services.core.ports import Jobs
from services.core.usecases import audit, coupon_pricing
from services.core.usecases.einvoices import outbox
from services.core.usecases.emails import queue_email
from services.core.usecases.payments import agreements, attempts
from services.core.usecases.payments.activation import activate, issue_invoice, reactivatable
from services.core.usecases.payments.attempts import AttemptStatus
from services.core.usecases.payments.reviews import ReviewReason, park
from services.core.usecases.plan_changes import effects as plan_change_effects
from services.core.usecases.webhooks import events

INVOICE_PDF_JOB = "render_invoice_pdf"
OPEN_ORDER = (OrderStatus.PENDING, OrderStatus.PROCESSING)
CLOSED_ORDER = (OrderStatus.CANCELLED, OrderStatus.FAILED)


class Outcome(StrEnum):
    COMPLETED = "completed"
    ALREADY_COMPLETED = "already_completed"
    FAILED = "failed"
    ALREADY_CLOSED = "already_closed"  # a result for an order that is no longer open
    INSTRUCTIONS = "instructions"  # ATM/CVS/barcode details stored, customer e-mailed
    CODE_NOT_ISSUED = "code_not_issued"
    RENEWAL_FAILED = "renewal_failed"  # a periodic charge was declined
    ALREADY_PROCESSED = "already_processed"
    IGNORED = "ignored"  # not an accepted notification
    NEEDS_REVIEW = "needs_review"  # money arrived; a rule forbids applying it: parked


@dataclass(frozen=True)
class PaymentResult:
    order_id: uuid.UUID | None
    outcome: Outcome
    invoice_id: uuid.UUID | None = None
    review_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Payment:
    """Money ECPay reports for an order, by whichever path it reached us."""

    trade_no: str
    paid_at: datetime
    amount: Any
    payment_type: str
    raw: Mapping[str, Any]
    source: str
    source_key: str  # what a review item of this money is keyed on (one item per source)


def lock_order(session: Session, order_id: uuid.UUID) -> Order:
    order = session.scalars(
        select(Order).where(Order.id == order_id).with_for_update()
    ).one_or_none()
    if order is None:
        raise NotFound(f"order {order_id} not found")
    return order


def _lock_order_to_complete(session: Session, order_id: uuid.UUID) -> tuple[Order, Plan, User]:
    """`lock_order`, with the order's plan and customer read in the same statement (a payment
    reads both): two round trips less. Only the order row is locked, as `lock_order` does."""
    row = session.execute(
        select(Order, Plan, User)
        .join(Plan, Plan.id == Order.plan_id)
        .join(User, User.id == Order.user_id)
        .where(Order.id == order_id)
        .with_for_update(of=Order)
    ).one_or_none()
    if row is None:
        raise NotFound(f"order {order_id} not found")
    return row[0], row[1], row[2]


def lock_subscription(session: Session, subscription_id: uuid.UUID) -> Subscription:
    return session.scalars(
        select(Subscription).where(Subscription.id == subscription_id).with_for_update()
    ).one()


def _park(session: Session, clock: Clock, jobs: Jobs, order: Order,
          attempt: PaymentAttempt | None, payment: Payment, reason: ReviewReason,
          detail: str, notification_id: uuid.UUID | None = None) -> PaymentResult:
    if attempt is not None and attempt.status != AttemptStatus.PAID:
        attempt.status = AttemptStatus.REVIEW.value
        attempt.trade_no = payment.trade_no[:20] or attempt.trade_no
        if attempt.periodic:
            agreements.stop_unapplied(session, clock, jobs, order=order, attempt=attempt,
                                      charged_at=payment.paid_at,
                                      reason=f"its first payment went to review: {reason}")
    review_id = park(
        session, source_key=payment.source_key, reason=reason, arrived_at=payment.paid_at,
        detail=detail, amount=to_twd(payment.amount),
        merchant_trade_no=attempt.merchant_trade_no if attempt else order.order_number,
        gateway_trade_no=payment.trade_no, order_id=order.id,
        subscription_id=order.subscription_id, user_id=order.user_id,
        # The stored ReturnURL holds the card authorization (gwsr) a card refund of this
        # money asks ECPay about (refunds.authorization).
        notification_id=notification_id,
    )
    return PaymentResult(order.id, Outcome.NEEDS_REVIEW, review_id=review_id)


def _attempt(session: Session, clock: Clock, order: Order, attempt_id: uuid.UUID | None,
             by_agreement: bool) -> PaymentAttempt | None:
    if by_agreement:
        return None
    if attempt_id is not None:
        return attempts.lock(session, attempt_id)
    return attempts.for_order(session, clock, order)


def _other_first_orders(session: Session, order: Order) -> dict[uuid.UUID, str]:
    """The other first orders of the order's subscription and their status (none for a
    renewal): read once, for the duplicate check and then for superseding the open ones.
    The subscription's row lock, held from before this read, keeps them as they are."""
    if order.is_renewal:
        return {}
    rows = session.execute(
        select(Order.id, Order.status).where(
            Order.subscription_id == order.subscription_id, Order.id != order.id,
            Order.is_renewal.is_(False),
        )
    )
    return {order_id: status for order_id, status in rows}


def _second_first_payment(order: Order, others: dict[uuid.UUID, str]) -> bool:
    """A first order (no period) paid while another first order already paid the start."""
    return order.period_start is None and OrderStatus.COMPLETED.value in others.values()


def _why_not(order: Order, sub: Subscription, plan: Plan, payment: Payment,
             change: PlanChange | None,
             others: dict[uuid.UUID, str]) -> tuple[ReviewReason, str] | None:
    """The reason this money cannot complete `order`, or None when it can."""
    if to_twd(payment.amount) != order.amount:
        return ReviewReason.AMOUNT_MISMATCH, f"paid {payment.amount}, order is {order.amount}"
    if change is not None:
        if order.status in CLOSED_ORDER:
            return ReviewReason.ORDER_CLOSED, f"order {order.order_number} is {order.status}"
        return plan_change_effects.refusal(change, sub)
    late_but_welcome = reactivatable(order, sub, plan)
    if order.status in CLOSED_ORDER and not late_but_welcome:
        return ReviewReason.ORDER_CLOSED, f"order {order.order_number} is {order.status}"
    if sub.status == SubscriptionStatus.CANCELLED or (
        sub.status == SubscriptionStatus.EXPIRED and not late_but_welcome
    ):
        return ReviewReason.SUBSCRIPTION_CLOSED, f"the subscription is {sub.status}"
    if _second_first_payment(order, others):
        return ReviewReason.DUPLICATE_PAYMENT, "the first period was already paid"
    return None


def complete_payment(
    session: Session, clock: Clock, jobs: Jobs, *, order_id: uuid.UUID, trade_no: str,
    paid_at: datetime, amount: Any, payment_type: str, raw: Mapping[str, Any], source: str,
    settings: Settings | None = None, attempt_id: uuid.UUID | None = None,
    source_key: str | None = None, by_agreement: bool = False,
    notification_id: uuid.UUID | None = None,
) -> PaymentResult:
    """Apply money ECPay took for an order in the caller's transaction, exactly once.

    The order row lock serialises every path (callbacks, periodic charges, reconciliation).
    The same attempt paid twice is `already_completed`; another attempt's payment for a
    completed order, or money no rule lets us apply, is parked for review — never dropped,
    never applied twice. A charge of a card agreement (`by_agreement`) is no checkout
    attempt: a completed order then simply means the period was already paid.
    """
    order, plan, user = _lock_order_to_complete(session, order_id)
    attempt = _attempt(session, clock, order, attempt_id, by_agreement)
    paid_as = attempt.merchant_trade_no if attempt else order.order_number
    payment = Payment(trade_no, paid_at.astimezone(UTC), amount, payment_type, raw, source,
                      source_key or f"{source}:{paid_as}:{trade_no}")
    if attempt is not None and attempt.status == AttemptStatus.REVIEW:
        return PaymentResult(order.id, Outcome.NEEDS_REVIEW)
    if order.status in (OrderStatus.COMPLETED, OrderStatus.REFUNDED):
        if attempt is None or attempt.status == AttemptStatus.PAID:
            existing = session.scalars(
                select(Invoice.id).where(Invoice.order_id == order.id)
            ).first()
            return PaymentResult(order.id, Outcome.ALREADY_COMPLETED, existing)
        return _park(session, clock, jobs, order, attempt, payment,
                     ReviewReason.DUPLICATE_PAYMENT,
                     f"order {order.order_number} was already paid by another attempt",
                     notification_id)
    sub = lock_subscription(session, order.subscription_id)
    change = plan_change_effects.change_of_order(session, order)
    others = _other_first_orders(session, order)
    refusal = _why_not(order, sub, plan, payment, change, others)
    if refusal is not None:
        return _park(session, clock, jobs, order, attempt, payment, *refusal, notification_id)
    return _complete(session, clock, jobs, order, attempt, sub, plan, user, payment, settings,
                     change, others)


def _complete(session: Session, clock: Clock, jobs: Jobs, order: Order,
              attempt: PaymentAttempt | None, sub: Subscription, plan: Plan, user: User,
              payment: Payment, settings: Settings | None, change: PlanChange | None,
              others: dict[uuid.UUID, str]) -> PaymentResult:
    order.status = OrderStatus.COMPLETED.value
    order.paid_at = payment.paid_at
    order.ecpay_trade_no = payment.trade_no[:20] or order.ecpay_trade_no
    order.payment_data = encrypt_json(
        {"source": payment.source, "payment_type": payment.payment_type,
         "fields": dict(payment.raw)}, settings,
    )
    if attempt is not None:
        attempt.status = AttemptStatus.PAID.value
        attempt.trade_no = payment.trade_no[:20] or attempt.trade_no
    period = (activate(session, order, sub, plan, payment.paid_at) if change is None
              else plan_change_effects.activate_paid(session, clock, jobs, change, order, sub,
                                                     payment.paid_at))
    coupon_pricing.count_paid_period(session, order)
    if attempt is not None and attempt.periodic:
        index = period_number(sub.anchor_date or period.start,
                              BillingCycle.parse(plan.billing_cycle), period.start)
        agreements.open_agreement(session, sub=sub, attempt=attempt, period_index=max(index, 0),
                                  charged_at=payment.paid_at)
        if not sub.auto_renew or sub.cancel_at_period_end:
            # The customer stopped renewal after this checkout was sent to ECPay: the payment
            # stands, the agreement it set up must not charge again.
            agreements.request_cancel(session, clock, jobs, sub, "renewal was turned off")
    _supersede_other_first_orders(session, others)
    invoice = issue_invoice(session, clock, order, user, plan, period)
    # The e-invoice is owed from this very transaction: the worker issues it after commit.
    outbox.record_for_payment(session, clock, jobs, settings or get_settings(), order=order,
                              invoice=invoice, user=user, plan=plan, period=period)
    audit.record(
        session, audit.SYSTEM, "payment.completed", resource_type="order", resource_id=order.id,
        user_id=order.user_id, description=f"{order.order_number} paid by {payment.payment_type}",
        meta={"source": payment.source, "trade_no": payment.trade_no, "amount": str(order.amount),
              "invoice_number": invoice.invoice_number,
              "attempt": attempt.merchant_trade_no if attempt else None},
    )
    queue_email(
        session, jobs, template="payment_confirmation", user=user,
        event_key=f"payment_confirmation:{order.id}",
        context={"order_id": str(order.id), "invoice_id": str(invoice.id)},
    )
    jobs.enqueue(INVOICE_PDF_JOB, str(invoice.id), job_id=f"invoice-pdf-{invoice.id}")
    events.record(session, clock.now(), "order.paid", {
        "order_id": str(order.id), "subscription_id": str(sub.id),
        "customer_id": str(order.user_id), "invoice_id": str(invoice.id),
        "amount": str(order.amount), "currency": order.currency}, jobs)
    return PaymentResult(order.id, Outcome.COMPLETED, invoice.id)


def _supersede_other_first_orders(session: Session, others: dict[uuid.UUID, str]) -> None:
    # Two first orders of one subscription: once one is paid the other must not be payable.
    # Still open now: the plan change just applied may have cancelled one of them since.
    open_states = [s.value for s in OPEN_ORDER]
    open_ones = [order_id for order_id, status in others.items() if status in open_states]
    if open_ones:
        session.execute(
            update(Order).where(Order.id.in_(open_ones), Order.status.in_(open_states))
            .values(status=OrderStatus.CANCELLED.value,
                    failure_reason="another order paid the first period")
        )
