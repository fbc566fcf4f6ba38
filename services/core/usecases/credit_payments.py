"""Orders and the credit balance: credit is used first, and an order it fully covers (or a
coupon took to zero) is completed without ECPay (a zero total issues no e-invoice)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import Order
from services.core.ports import Jobs
from services.core.usecases import credits
from services.core.usecases.payments import completion

SOURCE = "credit_balance"
COUPON_SOURCE = "coupon"  # a coupon took the whole price off


def has_credit_column(user_id: Any) -> ColumnElement[bool]:
    """Whether the customer's balance is above zero, as a column for a statement the caller
    runs anyway (`user_id` an id or a bind parameter); `apply_credit` skips the customer's
    lock and balance read when it is not."""
    return credits.balance_of(user_id) > 0


def apply_credit(session: Session, clock: Clock, jobs: Jobs, order: Order, *,
                 has_credit: bool = True) -> Decimal:
    """Use the customer's credit on a new pending order; complete it if nothing is left to
    pay (the payment's record says whether credit or a coupon paid it). Returns the credit
    used. `has_credit` False (read before the order by `has_credit_column`) uses none: a grant
    committed since is one that came just after the order."""
    used = (credits.use_on_order(session, order) if has_credit and order.amount > 0
            else Decimal(0))
    if order.amount == 0 and (used > 0 or order.discount > 0):
        source = SOURCE if used > 0 else COUPON_SOURCE
        completion.complete_payment(
            session, clock, jobs, order_id=order.id, trade_no="", paid_at=clock.now(),
            amount=0, payment_type=source,
            raw={"credit_used": str(used), "discount": str(order.discount)}, source=source,
            source_key=f"{source}:{order.order_number}", by_agreement=True)
    return used


def apply_to_renewals(session: Session, clock: Clock, jobs: Jobs,
                      rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Credit on the renewal orders just created (paid by link, not by an agreement, which
    charges ECPay's fixed amount); returns the rows still to be paid by the customer.

    One query finds the customers with credit, so a batch without any costs nothing more.
    A row a coupon took to zero completes the same way.
    """
    if not rows:
        return rows
    holders = credits.users_with_credit(session, {row["user_id"] for row in rows})
    if not holders and all(row["amount"] > 0 for row in rows):
        return rows
    to_pay = []
    for row in rows:
        if row["user_id"] in holders or row["amount"] == 0:
            order = session.get_one(Order, row["id"])
            apply_credit(session, clock, jobs, order, has_credit=row["user_id"] in holders)
            if order.amount == 0:
                continue
        to_pay.append(row)
    return to_pay
