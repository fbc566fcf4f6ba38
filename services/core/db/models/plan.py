"""Plans, written by the operator from Plan custom resources and read by everyone else."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from services.core.db.base import Base, JsonDoc, created_at, updated_at, uuid_pk


class Plan(Base):
    __tablename__ = "plans"
    __table_args__ = (Index("ix_plans_active_sort", "is_active", "sort_order"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(2000), default="")
    price: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3), default="TWD")
    billing_cycle: Mapped[str] = mapped_column(String(16))
    features: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    # Per language: {"zh-TW": {"name", "description", "features"}}; see domain.plan_text.
    translations: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict,
                                                         server_default=text("'{}'"))
    max_users: Mapped[int | None]
    max_storage_gb: Mapped[int | None]
    is_active: Mapped[bool] = mapped_column(default=True)
    is_popular: Mapped[bool] = mapped_column(default=False)
    sort_order: Mapped[int] = mapped_column(default=0)
    trial_days: Mapped[int] = mapped_column(default=0)
    grace_days: Mapped[int] = mapped_column(default=7)
    renewal_schedule: Mapped[str] = mapped_column(String(100), default="0 * * * *")
    # Which Plan resource and generation last wrote this row (drift detection).
    source_generation: Mapped[int | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
