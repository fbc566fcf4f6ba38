"""ECPay notifications exactly as received, with the verdict we reached on each."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from services.core.crypto import SealedJson
from services.core.db.base import Base, created_at, uuid_pk

_UNTRIED = ("verdict = 'accepted' AND processed_at IS NULL AND attempts = 0 "
            "AND order_id IS NOT NULL")


class PaymentNotification(Base):
    __tablename__ = "payment_notifications"
    __table_args__ = (
        Index("ix_payment_notifications_unprocessed", "verdict", "processed_at"),
        Index("ix_payment_notifications_trade_no", "merchant_trade_no"),
        # What the drain claims, oldest first (payment_processing.claim_next_new).
        Index("ix_payment_notifications_untried", "received_at",
              postgresql_where=text(_UNTRIED), sqlite_where=text(_UNTRIED)),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    # sha256 of the kind and the signed fields: a resent notification has the same key.
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # return | payment_info | period
    merchant_trade_no: Mapped[str] = mapped_column(String(64), default="")
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.id"))
    attempt_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("payment_attempts.id"))
    # accepted | bad_signature | wrong_merchant | unknown_order | amount_mismatch | simulated
    verdict: Mapped[str] = mapped_column(String(32))
    rtn_code: Mapped[str] = mapped_column(String(10), default="")
    # What audit needs stays readable; the card and bank fields in it are encrypted.
    raw: Mapped[dict[str, Any]] = mapped_column(SealedJson())
    request_id: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = created_at()
    processed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
