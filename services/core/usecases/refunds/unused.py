"""A refund of the days not yet used of the period an order paid, for staff cancelling a
subscription now: day-based, as a plan change credits them (domain.proration.unused)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.db.models import Order, PaymentAttempt
from services.core.domain.periods import Period
from services.core.domain.proration import Unused, unused
from services.core.errors import Conflict, ValidationError
from services.core.usecases.refunds.states import CancelChoice

UNUSED = "unused"  # the refund API's `amount` for "the unused days"


def unused_days(order: Order, now: datetime, cancel_subscription: str) -> Unused:
    """What the days of `order`'s period left at `now` are worth (whole NT$ of what it cost).

    Only with `cancel_subscription=now`: the customer keeps no access to the days given back.
    """
    if cancel_subscription != CancelChoice.NOW.value:
        raise ValidationError(
            "A refund of the unused days ends the subscription now.",
            errors={"cancel_subscription": ["now, with amount 'unused'"]})
    start, end = order.period_start, order.period_end
    if start is None or end is None or not start <= now < end:
        # An upgrade's net names no period; a past period has no unused days; a period paid
        # ahead has not started: refund an amount (its whole price) instead.
        raise Conflict("This order does not pay the period running now; refund an amount.",
                       code="no_unused_days", errors={"amount": ["an amount in NT$"]})
    left = unused(Period(start, end), now, Decimal(order.amount))
    if left.amount <= 0:
        raise Conflict("Nothing of this order's period is left to refund.",
                       code="no_unused_days", errors={"amount": ["nothing unused"]})
    return left


def refuse_partial_periodic(session: Session, order: Order, merchant_trade_no: str,
                            amount: Decimal, already: Decimal) -> None:
    """ECPay refunds part of an ordinary one-time authorization only (REFERENCE §7); for the
    first charge of a 定期定額 agreement it documents nothing, so Fluxus (and the simulator)
    take the harsher reading: in full, or by bank transfer."""
    if amount + already >= Decimal(order.amount) and already == 0:
        return
    periodic = session.scalar(select(PaymentAttempt.periodic).where(
        PaymentAttempt.merchant_trade_no == merchant_trade_no))
    if periodic:
        raise Conflict(
            "ECPay refunds a card agreement's (定期定額) charge only in full: refund all of it, "
            "or record a bank transfer.", code="partial_refund_not_allowed",
            errors={"amount": [f"{order.amount}, the whole charge"]})
