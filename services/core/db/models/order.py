"""Orders: one payment attempt for a subscription's period (order_number = MerchantTradeNo)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.core.crypto import SealedJson
from services.core.db.base import Base, created_at, updated_at, uuid_pk


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        # One renewal order per (subscription, billing period). Initial orders have no
        # period yet (it starts when paid), and NULLs never collide.
        UniqueConstraint("subscription_id", "period_start", name="uq_orders_subscription_period"),
        UniqueConstraint("user_id", "idempotency_key", name="uq_orders_user_idempotency_key"),
        Index("ix_orders_user_status", "user_id", "status"),
        Index("ix_orders_status_created", "status", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    order_number: Mapped[str] = mapped_column(String(20), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    subscription_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subscriptions.id"))
    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id"))
    amount: Mapped[Decimal]
    # A coupon's part: amount = list_amount − discount − credit used (list_amount is the
    # plan's price when the order was priced; both set only when a coupon applied).
    coupon_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("coupons.id"))
    discount: Mapped[Decimal] = mapped_column(default=Decimal(0), server_default="0")
    list_amount: Mapped[Decimal | None]
    currency: Mapped[str] = mapped_column(String(3), default="TWD")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    payment_method: Mapped[str] = mapped_column(String(16))
    is_renewal: Mapped[bool] = mapped_column(default=False)
    period_start: Mapped[datetime | None]
    period_end: Mapped[datetime | None]
    ecpay_trade_no: Mapped[str | None] = mapped_column(String(20))
    # Gateway details of the payment, encrypted at rest (Fernet token).
    payment_data: Mapped[str | None] = mapped_column(Text)
    # ATM/CVS/barcode instructions while the order waits for the customer.
    # The ATM account / CVS code / barcodes issued for paying are encrypted at rest.
    payment_info: Mapped[dict[str, Any] | None] = mapped_column(SealedJson())
    expire_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    failure_reason: Mapped[str | None] = mapped_column(String(200))
    # The invoice preference chosen at checkout (None: the account's at payment time).
    invoice_preference: Mapped[dict[str, Any] | None]
    client_ip: Mapped[str | None] = mapped_column(String(45))
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    # Staff's note on the order, shown to whoever can read it (the customer too).
    notes: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
