"""Plan changes: an upgrade waiting for its proration order, or a downgrade scheduled for the
end of the paid period, with the exact lines that were shown in the preview."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.core.db.base import Base, created_at, updated_at, uuid_pk


class PlanChange(Base):
    __tablename__ = "plan_changes"
    __table_args__ = (
        Index("ix_plan_changes_status_effective", "status", "effective_at"),
        # A retried POST with the same key answers the first change.
        UniqueConstraint("subscription_id", "idempotency_key",
                         name="uq_plan_changes_subscription_idempotency_key"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    subscription_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subscriptions.id"),
                                                       index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    from_plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id"))
    to_plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id"))
    # immediate | end_of_term (Kill Bill's names)
    policy: Mapped[str] = mapped_column(String(16))
    # awaiting_payment → applied | superseded; scheduled → applied | cancelled
    status: Mapped[str] = mapped_column(String(20))
    proration_date: Mapped[datetime]
    effective_at: Mapped[datetime]
    credit: Mapped[Decimal]
    charge: Mapped[Decimal]
    net: Mapped[Decimal]
    # The period the new plan runs for when it takes effect (a cycle change starts a new one).
    new_period_start: Mapped[datetime]
    new_period_end: Mapped[datetime]
    # The net proration order of an immediate upgrade (unique: one change per order).
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.id"), unique=True)
    requested_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    # The lines as the API answered them (a retry with the same key gets them again).
    lines: Mapped[dict[str, Any]]
    applied_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
