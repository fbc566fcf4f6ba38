"""Card agreements (定期定額): ECPay charges a card each period until cancelled there."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from services.core.db.base import Base, created_at, updated_at, uuid_pk


class CardAgreement(Base):
    __tablename__ = "card_agreements"
    __table_args__ = (
        Index("ix_card_agreements_status_requested", "status", "cancel_requested_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    subscription_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    # The MerchantTradeNo of the checkout that set it up: ECPay's name for the agreement.
    merchant_trade_no: Mapped[str] = mapped_column(String(20), unique=True)
    # active | cancelling (must be cancelled at ECPay) | cancelled | ended (ECPay stopped it)
    status: Mapped[str] = mapped_column(String(16), default="active")
    period_type: Mapped[str] = mapped_column(String(1))
    frequency: Mapped[int]
    exec_times: Mapped[int]
    period_amount: Mapped[int]
    # ECPay's own schedule runs from the first authorization; charge k (k ≥ 1 after it)
    # pays billing period first_period_index + k of the subscription.
    first_charged_at: Mapped[datetime]
    first_period_index: Mapped[int] = mapped_column(default=0)
    cancel_reason: Mapped[str | None] = mapped_column(String(200))
    cancel_requested_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
