"""Each periodic charge ECPay reported, with the billing period it was matched to."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from services.core.db.base import Base, created_at, uuid_pk


class PeriodCharge(Base):
    __tablename__ = "period_charges"
    __table_args__ = (Index("ix_period_charges_agreement_gwsr", "agreement_id", "gwsr"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("card_agreements.id"))
    notification_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("payment_notifications.id"), unique=True
    )
    gwsr: Mapped[str] = mapped_column(String(30))
    process_date: Mapped[datetime]
    amount: Mapped[Decimal]
    rtn_code: Mapped[str] = mapped_column(String(10))
    success: Mapped[bool]
    total_success_times: Mapped[int | None]
    # The billing period (0-based from the subscription's anchor) the charge belongs to.
    period_index: Mapped[int | None]
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.id"))
    outcome: Mapped[str] = mapped_column(String(32))  # applied | declined | review | duplicate
    created_at: Mapped[datetime] = created_at()
