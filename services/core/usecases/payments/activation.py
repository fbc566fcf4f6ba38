"""What a completed payment does to its subscription (the paid period) and the invoice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.invoice_numbers import allocate_invoice_number
from services.core.db.models import Invoice, Order, Plan, Subscription, User
from services.core.domain.money import split_tax_included
from services.core.domain.periods import TAIPEI, BillingCycle, Period, add_cycles, period_after
from services.core.domain.states import SubscriptionStatus, can_transition_subscription
from services.core.usecases import audit, coupon_pricing
from services.core.usecases.einvoices import preferences
from services.core.usecases.webhooks import events

S = SubscriptionStatus


def reactivatable(order: Order, sub: Subscription, plan: Plan) -> bool:
    """A late payment may still bring the subscription back: the customer never cancelled,
    the plan is still sold, and the money pays the period right after the paid ones (or
    the first period of one that was never paid)."""
    if sub.status == S.CANCELLED or sub.cancelled_at is not None or not plan.is_active:
        return False
    if order.period_start is None:
        return sub.anchor_date is None
    return order.period_start == sub.end_date


def _first_period(sub: Subscription, cycle: BillingCycle, paid_at: datetime) -> Period:
    # Paying during a trial keeps the trial: the paid period starts when the trial ends.
    start = paid_at
    if sub.status == S.TRIAL and sub.trial_end_date is not None and sub.trial_end_date > paid_at:
        start = sub.trial_end_date
    return Period(start, add_cycles(start, cycle, 1))


def _period_paid(order: Order, sub: Subscription, cycle: BillingCycle, paid_at: datetime) -> Period:
    if order.period_start is not None and order.period_end is not None:
        return Period(order.period_start, order.period_end)
    if sub.anchor_date is None or sub.end_date is None:
        return _first_period(sub, cycle, paid_at)
    # A renewal extends from the previous end, never from the payment date.
    return period_after(sub.anchor_date, cycle, sub.end_date)


def _new_status(sub: Subscription, period: Period, paid_at: datetime) -> str | None:
    if sub.status == S.TRIAL and period.start > paid_at:
        return None  # stays a trial until it ends; end_trials then makes it active
    if sub.status == S.EXPIRED:
        return S.ACTIVE.value  # a late payment the rules allow (see reactivatable)
    if sub.status != S.ACTIVE and can_transition_subscription(sub.status, S.ACTIVE):
        return S.ACTIVE.value
    return None


def activate(session: Session, order: Order, sub: Subscription, plan: Plan,
             paid_at: datetime) -> Period:
    """Give the subscription the period `order` paid for; returns that period."""
    period = _period_paid(order, sub, BillingCycle.parse(plan.billing_cycle), paid_at)
    order.period_start, order.period_end = period.start, period.end
    if sub.anchor_date is None:
        sub.anchor_date = sub.start_date = period.start
    if sub.end_date is None or period.end > sub.end_date:
        sub.end_date = period.end
    sub.payment_method = order.payment_method
    previous, target = sub.status, _new_status(sub, period, paid_at)
    if target is not None:
        sub.status = target
    if previous == S.EXPIRED:
        action = "subscription.reactivated"
    elif previous == S.TRIAL and target is None:
        action = "subscription.trial_paid"
    else:
        action = "subscription.renewed" if order.is_renewal else "subscription.activated"
    audit.record(
        session, audit.SYSTEM, action,
        resource_type="subscription", resource_id=sub.id, user_id=sub.user_id,
        meta={"from": previous, "start": period.start.isoformat(), "end": period.end.isoformat()},
    )
    events.subscription_changed(session, paid_at, sub, previous)
    return period


def issue_invoice(
    session: Session, clock: Clock, order: Order, user: User, plan: Plan, period: Period
) -> Invoice:
    issued_at = clock.now()
    split = split_tax_included(order.amount)
    first, last = (d.astimezone(TAIPEI).date().isoformat() for d in (period.start, period.end))
    invoice = Invoice(
        invoice_number=allocate_invoice_number(session, issued_at.astimezone(TAIPEI).year),
        order_id=order.id, user_id=order.user_id, amount=split.amount, tax_amount=split.tax,
        total_amount=split.total, currency=order.currency,
        buyer_name=preferences.buyer_name(user, limit=200), buyer_email=user.email,
        buyer_tax_id=user.tax_id or "",
        description=f"{plan.name} {first} – {last}{coupon_pricing.line_label(session, order)}"[
            :200], issued_at=issued_at,
        paid_at=order.paid_at,
    )
    session.add(invoice)
    session.flush()  # the unique order_id is the last guard against a second invoice
    events.record(session, issued_at, "invoice.issued", {
        "invoice_id": str(invoice.id), "invoice_number": invoice.invoice_number,
        "order_id": str(order.id), "customer_id": str(order.user_id),
        "total_amount": str(invoice.total_amount), "currency": invoice.currency})
    return invoice
