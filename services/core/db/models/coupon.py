"""Coupons and their redemptions: a coupon is redeemed at most once per subscription, and
counts the discounted periods that subscription has paid."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from services.core.db.base import Base, JsonDoc, created_at, updated_at, uuid_pk


class Coupon(Base):
    __tablename__ = "coupons"
    __table_args__ = (
        # The last guard on the limit: redeeming locks the row and counts under the lock.
        CheckConstraint("max_redemptions IS NULL OR times_redeemed <= max_redemptions",
                        name="within_limit"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(String(40), unique=True)  # upper case
    name: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[str] = mapped_column(String(8))  # percent | amount
    percent_off: Mapped[int | None]
    amount_off: Mapped[Decimal | None]  # whole NT$, tax included
    duration: Mapped[str] = mapped_column(String(10))  # once | repeating | forever
    duration_periods: Mapped[int | None]
    max_redemptions: Mapped[int | None]
    times_redeemed: Mapped[int] = mapped_column(default=0)
    redeem_by: Mapped[datetime | None]
    # Plan ids it applies to; an empty list means every plan.
    plan_ids: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class CouponRedemption(Base):
    __tablename__ = "coupon_redemptions"
    __table_args__ = (
        Index("ix_coupon_redemptions_coupon_id", "coupon_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    coupon_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("coupons.id"))
    # One coupon per subscription (as Stripe's one discount per subscription).
    subscription_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subscriptions.id"),
                                                       unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    # Discounted periods paid so far (counted when a discounted order is paid).
    periods_used: Mapped[int] = mapped_column(default=0)
    source: Mapped[str] = mapped_column(String(16))  # checkout | staff
    applied_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at()
