"""Refunds: money going back for a paid order, by card at ECPay or by a manual bank transfer,
each with its e-invoice correction (void or allowance)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.core.db.base import Base, created_at, updated_at, uuid_pk


class Refund(Base):
    __tablename__ = "refunds"
    __table_args__ = (
        # A retried POST with the same key finds the first refund of that order.
        UniqueConstraint("order_id", "idempotency_key", name="uq_refunds_order_idempotency_key"),
        Index("ix_refunds_status_next_attempt", "status", "next_attempt_at"),
        Index("ix_refunds_einvoice_status", "einvoice_status"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))  # the customer
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3), default="TWD")
    reason: Mapped[str] = mapped_column(String(500))
    # card: ECPay's CreditDetail/DoAction; manual: a bank transfer staff make and confirm
    method: Mapped[str] = mapped_column(String(8))
    # card: requested → sent → succeeded | failed; manual: owed → confirmed
    status: Mapped[str] = mapped_column(String(16))
    idempotency_key: Mapped[str] = mapped_column(String(100))
    requested_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    cancel_subscription: Mapped[str] = mapped_column(String(16), default="no")
    # A payment review item (decision refund_needed) this refund settles.
    review_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("payment_reviews.id"))
    # The trade at ECPay (card): MerchantTradeNo of the paid attempt and ECPay's TradeNo.
    merchant_trade_no: Mapped[str] = mapped_column(String(20), default="")
    trade_no: Mapped[str] = mapped_column(String(20), default="")
    # DoAction calls made, in order, with ECPay's answers: [{action, amount, rtn_code, rtn_msg}]
    gateway_actions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    # When the money went back (card succeeded, manual transfer confirmed).
    completed_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    transfer_reference: Mapped[str | None] = mapped_column(String(100))
    confirmed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    # The e-invoice step after the money: pending → done | not_needed | failed (retried by
    # the sweep); einvoice_result says void or allowance and the allowance's id.
    einvoice_status: Mapped[str] = mapped_column(String(16), default="pending")
    einvoice_result: Mapped[dict[str, Any] | None]
    einvoice_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
