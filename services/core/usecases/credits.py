"""The customer credit balance: a ledger of credits (a downgrade's unused days, staff
goodwill) and their use on orders. The balance never goes below zero: using credit locks
the customer's row, and an order uses credit once (a unique index)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import ScalarSelect, func, select
from sqlalchemy.orm import Session

from services.core.db.models import CreditEntry, Order, User
from services.core.domain.money import to_twd
from services.core.errors import ValidationError

GRANT_KINDS = ("downgrade", "goodwill")
USE, RELEASE = "order_use", "order_release"


def balance_of(user_id: Any) -> ScalarSelect[Any]:
    """The customer's balance as a scalar subquery, for a statement that reads more
    (`user_id` an id or a bind parameter)."""
    return (select(func.coalesce(func.sum(CreditEntry.amount), 0))
            .where(CreditEntry.user_id == user_id).scalar_subquery())


def balance(session: Session, user_id: uuid.UUID) -> Decimal:
    return Decimal(session.scalar(select(balance_of(user_id))) or 0)


def users_with_credit(session: Session, user_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these customers have a positive balance (one grouped query)."""
    return set(session.scalars(
        select(CreditEntry.user_id).where(CreditEntry.user_id.in_(user_ids))
        .group_by(CreditEntry.user_id).having(func.sum(CreditEntry.amount) > 0)))


def entries(session: Session, user_id: uuid.UUID, *, limit: int = 100) -> list[CreditEntry]:
    return list(session.scalars(
        select(CreditEntry).where(CreditEntry.user_id == user_id)
        .order_by(CreditEntry.created_at.desc(), CreditEntry.id).limit(limit)))


def grant(session: Session, *, user_id: uuid.UUID, amount: Decimal, kind: str,
          plan_change_id: uuid.UUID | None = None, note: str = "",
          created_by: uuid.UUID | None = None) -> CreditEntry:
    """Give the customer `amount` of credit (whole NT$, more than zero)."""
    if kind not in GRANT_KINDS:
        raise ValueError(f"not a credit kind: {kind}")
    if session.get(User, user_id) is None:
        raise ValidationError("No customer with this id.", errors={"user_id": ["unknown"]})
    whole = to_twd(amount)
    if whole <= 0:
        raise ValidationError("Credit must be more than zero.",
                              errors={"amount": ["more than zero"]})
    entry = CreditEntry(user_id=user_id, amount=whole, kind=kind,
                        plan_change_id=plan_change_id, note=note[:200], created_by=created_by)
    session.add(entry)
    session.flush()
    return entry


def _lock_customer(session: Session, user_id: uuid.UUID) -> None:
    # FOR NO KEY UPDATE: an order just inserted for this customer already holds FOR KEY SHARE
    # on the row (its foreign key); FOR UPDATE would wait on another transaction's key share
    # while that one waits on ours — a deadlock two checkouts at once used to hit.
    session.scalars(
        select(User.id).where(User.id == user_id).with_for_update(key_share=True)
    ).one()


def use_on_order(session: Session, order: Order) -> Decimal:
    """Take as much of the customer's credit as the (pending) order costs; the order then
    costs only the remainder. Returns the credit used (0 when there is none)."""
    _lock_customer(session, order.user_id)
    available = balance(session, order.user_id)
    used = min(available, Decimal(order.amount))
    if used <= 0:
        return Decimal(0)
    session.add(CreditEntry(user_id=order.user_id, amount=-used, kind=USE, order_id=order.id,
                            note=f"used on order {order.order_number}"))
    order.amount = Decimal(order.amount) - used
    session.flush()
    return used


def used_on_order(session: Session, order_id: uuid.UUID) -> Decimal:
    """Credit still held by an order (used, not released)."""
    total = session.scalar(
        select(func.coalesce(func.sum(CreditEntry.amount), 0))
        .where(CreditEntry.order_id == order_id))
    return -Decimal(total or 0)


def release_from_order(session: Session, order: Order) -> Decimal:
    """An order that will not be paid gives its credit back (once)."""
    held = used_on_order(session, order.id)
    if held <= 0:
        return Decimal(0)
    session.add(CreditEntry(user_id=order.user_id, amount=held, kind=RELEASE,
                            order_id=order.id, note=f"order {order.order_number} not paid"))
    session.flush()
    return held
