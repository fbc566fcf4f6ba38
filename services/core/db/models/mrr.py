"""MRR movements: an append-only record of how each customer's monthly recurring revenue
moved (new, expansion, contraction, churn, reactivation), in NT$ excluding tax."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from services.core.db.base import Base, created_at, uuid_pk


class MrrMovement(Base):
    __tablename__ = "mrr_movements"
    __table_args__ = (
        Index("ix_mrr_movements_occurred_at", "occurred_at"),
        Index("ix_mrr_movements_customer_occurred", "customer_id", "occurred_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    # The subscription whose change moved the customer's MRR.
    subscription_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("subscriptions.id"))
    occurred_at: Mapped[datetime]
    # new | expansion | contraction | churn | reactivation
    kind: Mapped[str] = mapped_column(String(16))
    # Signed: churn and contraction are negative; the sum over a customer is their MRR.
    amount_twd: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    # The customer's MRR after this movement.
    mrr_after_twd: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    # voluntary | delinquent for churn; the event type otherwise.
    reason: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime] = created_at()
