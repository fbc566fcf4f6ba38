"""Staff customer search and one customer's whole history (read-only; actions live in their
own use cases: refunds, subscriptions, invoice resend)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.orm import Session

from services.core.db.models import (
    AuditLog,
    CardAgreement,
    CreditEntry,
    EInvoice,
    EmailDelivery,
    Invoice,
    Order,
    PaymentAttempt,
    Plan,
    Refund,
    Subscription,
    User,
)
from services.core.errors import NotFound
from services.core.usecases import credits
from services.core.usecases.api_pages import Page, paginate

HISTORY_LIMIT = 200  # rows per kind on the customer page; older ones stay in the lists


def _prefix(q: str) -> str:
    """A LIKE prefix pattern with the user's own % and _ taken literally."""
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%"


def search(session: Session, q: str, *, page: int, page_size: int) -> Page[User]:
    """Customers whose e-mail, username, name, company, 統編 or one of whose order numbers
    starts with `q` (case-insensitive). Prefix matches only: they can use an index, and a
    staff member types the start of what they have in front of them."""
    q = q.strip()
    pattern = _prefix(q)
    ordered = (select(Order.user_id)
               .where(Order.order_number.ilike(pattern, escape="\\")))
    attempts = (select(Order.user_id).join(PaymentAttempt, PaymentAttempt.order_id == Order.id)
                .where(PaymentAttempt.merchant_trade_no.ilike(pattern, escape="\\")))
    full_name = func.trim(User.first_name + " " + User.last_name)
    query = select(User).where(or_(
        User.email.ilike(pattern, escape="\\"), User.username.ilike(pattern, escape="\\"),
        User.first_name.ilike(pattern, escape="\\"), User.last_name.ilike(pattern, escape="\\"),
        full_name.ilike(pattern, escape="\\"),
        User.company_name.ilike(pattern, escape="\\"), User.tax_id.like(pattern, escape="\\"),
        User.id.in_(ordered), User.id.in_(attempts),
        _same_id(q),
    )).order_by(User.email, User.id)
    return paginate(session, query, page=page, page_size=page_size)


def _same_id(q: str) -> ColumnElement[bool]:
    try:
        return User.id == uuid.UUID(q)
    except ValueError:
        return false()


@dataclass
class OrderHistory:
    order: Order
    attempts: list[PaymentAttempt] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)


@dataclass
class CustomerHistory:
    user: User
    credit_balance: Decimal
    subscriptions: list[Subscription]
    plans: list[Plan]
    orders: list[OrderHistory]
    invoices: list[Invoice]
    einvoices: list[EInvoice]
    refunds: list[Refund]
    card_agreements: list[CardAgreement]
    credit_entries: list[CreditEntry]
    emails: list[EmailDelivery]
    audit: list[AuditLog]


def _newest(session: Session, model: Any, *where: ColumnElement[bool]) -> list[Any]:
    return list(session.scalars(select(model).where(*where)
                                .order_by(model.created_at.desc()).limit(HISTORY_LIMIT)))


def history(session: Session, user_id: uuid.UUID) -> CustomerHistory:
    """Everything billing knows about one customer, newest first, each kind capped."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("Customer not found.")
    subs = _newest(session, Subscription, Subscription.user_id == user_id)
    orders = _newest(session, Order, Order.user_id == user_id)
    order_ids = [o.id for o in orders]
    refunds = _newest(session, Refund, Refund.user_id == user_id)
    plan_ids = {s.plan_id for s in subs} | {o.plan_id for o in orders}
    plans = list(session.scalars(select(Plan).where(Plan.id.in_(plan_ids))))
    by_order = {o.id: OrderHistory(o) for o in orders}
    for attempt in _newest(session, PaymentAttempt, PaymentAttempt.order_id.in_(order_ids)):
        by_order[attempt.order_id].attempts.append(attempt)
    for refund in refunds:
        if refund.order_id in by_order:
            by_order[refund.order_id].refunds.append(refund)
    invoices = _newest(session, Invoice, Invoice.user_id == user_id)
    # Rows the customer acted in, and what staff or the system did to their rows.
    own_ids = [str(i) for i in (user_id, *(s.id for s in subs), *order_ids,
                                *(i.id for i in invoices), *(r.id for r in refunds))]
    return CustomerHistory(
        user=user, credit_balance=credits.balance(session, user_id), subscriptions=subs,
        plans=plans, orders=list(by_order.values()),
        invoices=invoices,
        einvoices=_newest(session, EInvoice, EInvoice.user_id == user_id),
        refunds=refunds,
        card_agreements=_newest(session, CardAgreement,
                                CardAgreement.subscription_id.in_([s.id for s in subs])),
        credit_entries=credits.entries(session, user_id, limit=HISTORY_LIMIT),
        emails=_newest(session, EmailDelivery, EmailDelivery.user_id == user_id),
        audit=_newest(session, AuditLog, or_(AuditLog.user_id == user_id,
                                             AuditLog.resource_id.in_(own_ids))),
    )
