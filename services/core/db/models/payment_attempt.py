"""Payment attempts: each checkout of an order is its own ECPay MerchantTradeNo."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from services.core.db.base import Base, created_at, updated_at, uuid_pk


class PaymentAttempt(Base):
    __tablename__ = "payment_attempts"
    __table_args__ = (
        # At most one attempt completes an order, whatever the channel or the race.
        Index(
            "uq_payment_attempts_one_paid_per_order",
            "order_id",
            unique=True,
            postgresql_where=text("status = 'paid'"),
            sqlite_where=text("status = 'paid'"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), index=True)
    # ECPay refuses a MerchantTradeNo it has seen once, so every checkout gets its own.
    merchant_trade_no: Mapped[str] = mapped_column(String(20), unique=True)
    method: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|paid|failed|expired
    # 定期定額 terms when this checkout sets up a card agreement.
    periodic: Mapped[dict[str, Any] | None]
    trade_no: Mapped[str | None] = mapped_column(String(20))
    failure_reason: Mapped[str | None] = mapped_column(String(200))
    # Offline codes: ECPay still takes the money until ExpireDate (plus BARCODE's delay).
    payable_until: Mapped[datetime | None]
    # When reconciliation last asked ECPay about it (never-asked first, so none starves).
    checked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
