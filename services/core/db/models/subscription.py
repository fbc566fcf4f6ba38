"""A customer's subscription to a plan."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.core.db.base import Base, created_at, updated_at, uuid_pk

if TYPE_CHECKING:
    from services.core.db.models.card_agreement import CardAgreement
    from services.core.db.models.plan_change import PlanChange


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        Index("ix_subscriptions_user_status", "user_id", "status"),
        Index("ix_subscriptions_status_end", "status", "end_date"),
        Index("ix_subscriptions_plan_status_end", "plan_id", "status", "end_date"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # The first paid instant; every period boundary is computed from it (anchor day kept).
    anchor_date: Mapped[datetime | None]
    start_date: Mapped[datetime | None]
    end_date: Mapped[datetime | None]
    trial_end_date: Mapped[datetime | None]
    auto_renew: Mapped[bool] = mapped_column(default=True)
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False)
    cancelled_at: Mapped[datetime | None]
    # How renewals are paid: credit_card (ECPay periodic agreement), atm, cvs, barcode.
    payment_method: Mapped[str | None] = mapped_column(String(16))
    # MerchantTradeNo of the order that set up an ECPay periodic (定期定額) agreement.
    period_agreement_no: Mapped[str | None] = mapped_column(String(20), index=True)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    card_agreements: Mapped[list[CardAgreement]] = relationship(
        order_by="CardAgreement.created_at", viewonly=True, lazy="select"
    )

    plan_changes: Mapped[list[PlanChange]] = relationship(
        order_by="PlanChange.created_at", viewonly=True, lazy="select"
    )

    @property
    def scheduled_change(self) -> PlanChange | None:
        """The downgrade (or other end-of-term change) waiting for the period end, if any."""
        waiting = [c for c in self.plan_changes if c.status == "scheduled"]
        return waiting[-1] if waiting else None

    @property
    def card_agreement(self) -> CardAgreement | None:
        """The newest card agreement (定期定額), whatever its state; None if never set up."""
        return self.card_agreements[-1] if self.card_agreements else None
