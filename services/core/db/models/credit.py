"""The customer credit balance as a ledger: positive entries give credit, negative ones use it
on an order. The balance is the sum and never goes below zero."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.core.db.base import Base, created_at, uuid_pk


class CreditEntry(Base):
    __tablename__ = "credit_entries"
    __table_args__ = (
        # An order uses credit at most once; a plan change grants it at most once.
        UniqueConstraint("order_id", "kind", name="uq_credit_entries_order_kind"),
        UniqueConstraint("plan_change_id", name="uq_credit_entries_plan_change"),
        Index("ix_credit_entries_user_created", "user_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    # + granted (downgrade, goodwill, released), − used on an order
    amount: Mapped[Decimal]
    # downgrade | goodwill | order_use | order_release
    kind: Mapped[str] = mapped_column(String(16))
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.id"))
    plan_change_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("plan_changes.id"))
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at()
