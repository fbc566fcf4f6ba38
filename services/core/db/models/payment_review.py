"""Money that arrived but was not applied, waiting for a person to decide."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from services.core.db.base import Base, created_at, uuid_pk


class PaymentReview(Base):
    __tablename__ = "payment_reviews"
    __table_args__ = (Index("ix_payment_reviews_status_arrived", "status", "arrived_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    # What produced it (a notification, a reconciliation answer): one item per source.
    source_key: Mapped[str] = mapped_column(String(100), unique=True)
    reason: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="open")
    amount: Mapped[Decimal | None]
    merchant_trade_no: Mapped[str] = mapped_column(String(64), default="")
    gateway_trade_no: Mapped[str] = mapped_column(String(30), default="")
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.id"))
    subscription_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("subscriptions.id"))
    notification_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("payment_notifications.id")
    )
    detail: Mapped[str] = mapped_column(String(500), default="")
    arrived_at: Mapped[datetime]
    created_at: Mapped[datetime] = created_at()
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    resolution_note: Mapped[str | None] = mapped_column(String(1000))
