"""Books checks on the credit balance: never negative, every use tied to an order, credit
held by an unpaid order given back, and credit given back never kept by a paid order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import aliased

from services.core.db.models import CreditEntry, Order
from services.core.domain.states import OrderStatus
from services.core.usecases.books_findings import Check, Finding, Query, money
from services.core.usecases.credits import GRANT_KINDS, RELEASE, USE

_CLOSED = (OrderStatus.CANCELLED.value, OrderStatus.FAILED.value)


def credit_balance_negative() -> Query:
    """A customer whose ledger, in order, ever goes below zero (whatever `since` says:
    one entry anywhere can make every later balance wrong)."""
    running = select(
        CreditEntry.user_id,
        func.sum(CreditEntry.amount).over(
            partition_by=CreditEntry.user_id,
            order_by=(CreditEntry.created_at, CreditEntry.id)).label("balance"),
    ).subquery()
    query = (select(running.c.user_id, func.min(running.c.balance).label("lowest"))
             .group_by(running.c.user_id).having(func.min(running.c.balance) < 0))

    def finding(row: Any) -> Finding:
        return Finding(Check.CREDIT_BALANCE_NEGATIVE, {"user": str(row.user_id)},
                       f"the credit balance went down to {money(row.lowest)} TWD")

    return query, finding


def credit_entry_malformed(since: datetime | None) -> Query:
    """A use or release with no order, a grant that takes credit away, a use that gives."""
    query = select(CreditEntry.id, CreditEntry.kind, CreditEntry.amount).where(or_(
        and_(CreditEntry.kind.in_((USE, RELEASE)), CreditEntry.order_id.is_(None)),
        and_(CreditEntry.kind.in_((*GRANT_KINDS, RELEASE)), CreditEntry.amount <= 0),
        and_(CreditEntry.kind == USE, CreditEntry.amount >= 0),
        CreditEntry.kind.not_in((*GRANT_KINDS, USE, RELEASE)),
    ))
    if since is not None:
        query = query.where(CreditEntry.created_at >= since)

    def finding(row: Any) -> Finding:
        return Finding(Check.CREDIT_ENTRY_MALFORMED, {"credit_entry": str(row.id)},
                       f"{row.kind} entry of {money(row.amount)} TWD is not tied to an order "
                       "as its kind requires")

    return query, finding


def credit_held_by_closed_order(since: datetime | None) -> Query:
    """Credit used on an order that closed unpaid and never given back (the customer lost
    it), or given back although the order was paid (the customer got it twice)."""
    release = aliased(CreditEntry)
    released = exists().where(release.order_id == CreditEntry.order_id,
                              release.kind == RELEASE)
    query = (select(Order.id, Order.order_number, Order.status, CreditEntry.amount)
             .join(CreditEntry, and_(CreditEntry.order_id == Order.id, CreditEntry.kind == USE))
             .where(or_(and_(Order.status.in_(_CLOSED), ~released),
                        and_(Order.status == OrderStatus.COMPLETED.value, released))))
    if since is not None:
        query = query.where(Order.updated_at >= since)

    def finding(row: Any) -> Finding:
        state = "kept" if row.status in _CLOSED else "given back"
        return Finding(Check.CREDIT_HELD_BY_CLOSED_ORDER,
                       {"order": str(row.id), "order_number": row.order_number},
                       f"{row.status} order used {money(-row.amount)} TWD of credit, {state}")

    return query, finding


def credit_checks(since: datetime | None) -> list[Query]:
    return [credit_balance_negative(), credit_entry_malformed(since),
            credit_held_by_closed_order(since)]
