"""A free period staff gave a subscription: its end date moved on with no order behind it.

The row is what lets `fluxus audit books` accept an active subscription whose end date no
paid order names (an extension is the one legitimate way to get there)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.core.db.base import Base, created_at, uuid_pk


class SubscriptionExtension(Base):
    __tablename__ = "subscription_extensions"
    __table_args__ = (
        # A retried POST with the same key answers the first extension (one free period).
        UniqueConstraint("subscription_id", "idempotency_key",
                         name="uq_subscription_extensions_subscription_idempotency_key"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    subscription_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subscriptions.id"),
                                                       index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    previous_end_date: Mapped[datetime]
    new_end_date: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = created_at()
