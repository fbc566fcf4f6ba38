"""The staff review queue: list parked money, read one item, record a person's decision."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import Order, PaymentReview, Subscription, User
from services.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from services.core.usecases import audit
from services.core.usecases.api_pages import Page, paginate
from services.core.usecases.payments.reviews import ReviewStatus

# What a person may decide about an open item (open itself is not a decision).
DECISIONS = (ReviewStatus.APPLIED, ReviewStatus.REFUND_NEEDED, ReviewStatus.DISMISSED)
NOTE_MAX = 1000
CURRENCY = "TWD"  # ECPay settles in TWD only


@dataclass(frozen=True)
class ReviewItem:
    """A review row with the order it names, as staff read it."""

    id: uuid.UUID
    status: str
    reason: str
    amount: Decimal | None
    currency: str
    merchant_trade_no: str
    gateway_trade_no: str
    order_id: uuid.UUID | None
    order_number: str | None
    subscription_id: uuid.UUID | None
    user_id: uuid.UUID | None
    detail: str
    arrived_at: datetime
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: uuid.UUID | None
    resolution_note: str | None


def _customer_query() -> Select[uuid.UUID, str, uuid.UUID]:
    # The customer is the order's; an item that names only a subscription takes its owner.
    return (
        select(
            PaymentReview.id,
            Order.order_number,
            func.coalesce(Order.user_id, Subscription.user_id),
        )
        .outerjoin(Order, Order.id == PaymentReview.order_id)
        .outerjoin(Subscription, Subscription.id == PaymentReview.subscription_id)
    )


def _items(session: Session, rows: list[PaymentReview]) -> list[ReviewItem]:
    """The rows with their order numbers and customers, in one query for the whole page."""
    if not rows:
        return []
    extra = {
        review_id: (number, user_id)
        for review_id, number, user_id in session.execute(
            _customer_query().where(PaymentReview.id.in_([row.id for row in rows]))
        )
    }
    return [_item(row, *extra.get(row.id, (None, None))) for row in rows]


def _item(row: PaymentReview, order_number: str | None, user_id: uuid.UUID | None) -> ReviewItem:
    return ReviewItem(
        id=row.id,
        status=row.status,
        reason=row.reason,
        amount=row.amount,
        currency=CURRENCY,
        merchant_trade_no=row.merchant_trade_no,
        gateway_trade_no=row.gateway_trade_no,
        order_id=row.order_id,
        order_number=order_number,
        subscription_id=row.subscription_id,
        user_id=user_id,
        detail=row.detail,
        arrived_at=row.arrived_at,
        created_at=row.created_at,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        resolution_note=row.resolution_note,
    )


def list_reviews(
    session: Session,
    *,
    page: int,
    page_size: int,
    status: str | None = None,
    reason: str | None = None,
) -> Page[ReviewItem]:
    """Oldest money first (the item waiting longest is the one to handle next)."""
    query = select(PaymentReview).order_by(PaymentReview.arrived_at, PaymentReview.id)
    if status:
        query = query.where(PaymentReview.status == status)
    if reason:
        query = query.where(PaymentReview.reason == reason)
    found = paginate(session, query, page=page, page_size=page_size)
    return Page(
        items=_items(session, found.items),
        total=found.total,
        page=found.page,
        page_size=found.page_size,
    )


def get_review(session: Session, review_id: uuid.UUID) -> ReviewItem:
    row = session.get(PaymentReview, review_id)
    if row is None:
        raise NotFound("Payment review item not found.")
    return _items(session, [row])[0]


def resolve(
    session: Session,
    clock: Clock,
    actor: audit.Actor,
    staff: User,
    review_id: uuid.UUID,
    *,
    decision: str,
    note: str,
) -> ReviewItem:
    """Close an open item with a decision and a note; audited under the staff member.

    The row is locked first, so of two people resolving the same item at once the second
    waits, then sees it closed and gets 409 `review_not_open`.
    """
    if not staff.is_staff:
        raise PermissionDenied("Staff only.")
    if decision not in {str(d) for d in DECISIONS}:
        raise ValidationError(
            "Unknown decision.",
            errors={"decision": [f"One of: {', '.join(str(d) for d in DECISIONS)}."]},
        )
    note = note.strip()
    if not note or len(note) > NOTE_MAX:
        raise ValidationError(
            "A note is required.", errors={"note": [f"Between 1 and {NOTE_MAX} characters."]}
        )
    row = session.scalars(
        select(PaymentReview)
        .where(PaymentReview.id == review_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if row is None:
        raise NotFound("Payment review item not found.")
    if row.status != ReviewStatus.OPEN:
        raise Conflict(f"This item is already resolved ({row.status}).", code="review_not_open")
    row.status = decision
    row.resolved_at = clock.now()
    row.resolved_by = staff.id
    row.resolution_note = note
    session.flush()
    item = _items(session, [row])[0]
    audit.record(
        session,
        actor,
        "payment_review.resolved",
        resource_type="payment_review",
        resource_id=row.id,
        description=f"{decision}: {note}",
        meta={
            "decision": decision,
            "reason": row.reason,
            "amount": None if row.amount is None else str(row.amount),
            "merchant_trade_no": row.merchant_trade_no,
            "order_id": str(row.order_id or ""),
            "customer_id": str(item.user_id or ""),
        },
    )
    return item
