"""Test clocks: a frozen time of their own that staff advance for the clock's test customers."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from services.core.db.base import Base, created_at, updated_at, uuid_pk


class TestClock(Base):
    __tablename__ = "test_clocks"
    __test__ = False  # not a pytest class, whatever imports it

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(100))
    # The clock's now: what its customers' billing sees; only ever moves forward.
    frozen_time: Mapped[datetime]
    # ready | advancing | failed (see services.core.usecases.test_clocks.clocks.Status)
    status: Mapped[str] = mapped_column(String(16), default="ready")
    # Where an advance is heading while status is advancing (frozen_time follows step by step).
    advancing_to: Mapped[datetime | None]
    steps: Mapped[int] = mapped_column(default=0)  # boundaries the last advance stepped through
    last_error: Mapped[str | None] = mapped_column(String(500))
    # No foreign key: users already point here (test_clock_id), and a cycle would stop the
    # metadata from ordering its tables; the audit row names the creator for good.
    created_by: Mapped[uuid.UUID | None]
    deleted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
