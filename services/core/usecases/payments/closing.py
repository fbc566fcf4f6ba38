"""When a subscription must not be paid or charged again: its open orders close and its card
agreements are cancelled (here at once, at ECPay by a retried job)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import Order, PlanChange, Subscription
from services.core.domain.states import OrderStatus
from services.core.ports import Jobs
from services.core.usecases import credits
from services.core.usecases.payments import agreements, attempts

_OPEN = (OrderStatus.PENDING.value, OrderStatus.PROCESSING.value)


def stop_charging(session: Session, clock: Clock, jobs: Jobs, sub: Subscription,
                  reason: str) -> None:
    """Cancel the subscription's card agreements (auto-renew off, cancel, expiry)."""
    agreements.request_cancel(session, clock, jobs, sub, reason)
    # Nor will it renew onto a plan change scheduled for the period end.
    session.execute(
        update(PlanChange)
        .where(PlanChange.subscription_id == sub.id, PlanChange.status == "scheduled")
        .values(status="cancelled", cancelled_at=clock.now())
    )


def close_open_orders(session: Session, clock: Clock, sub: Subscription, reason: str, *,
                      keep_live_codes: bool = False, only_from: datetime | None = None) -> int:
    """Open orders stop being payable; a payment that still arrives goes to review.

    With `keep_live_codes`, an order whose ATM/CVS/BARCODE code ECPay still accepts stays
    open until the code's deadline (reconciliation closes it then), so late money is applied.
    With `only_from`, only orders for periods starting then or later close.
    """
    now, closed = clock.now(), 0
    query = select(Order).where(Order.subscription_id == sub.id, Order.status.in_(_OPEN))
    if only_from is not None:
        query = query.where(Order.period_start >= only_from)
    orders = session.scalars(query.with_for_update()).all()
    for order in orders:
        if keep_live_codes and attempts.live_offline_deadline(session, order.id, now):
            continue
        order.status = OrderStatus.CANCELLED.value
        order.failure_reason = reason[:200]
        attempts.expire_open(session, order.id, reason)
        credits.release_from_order(session, order)
        closed += 1
    return closed


def end_subscription(session: Session, clock: Clock, jobs: Jobs, sub: Subscription,
                     reason: str, *, keep_live_codes: bool = False) -> None:
    stop_charging(session, clock, jobs, sub, reason)
    close_open_orders(session, clock, sub, reason, keep_live_codes=keep_live_codes)
