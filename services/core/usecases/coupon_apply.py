"""Staff apply a coupon to an existing subscription: its next orders are discounted, and
its customer's MRR moves (a contraction) at once."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import CouponRedemption, Subscription, User
from services.core.domain.states import LIVE_SUBSCRIPTION_STATES
from services.core.errors import Conflict, NotFound
from services.core.usecases import coupons, mrr
from services.core.usecases.audit import Actor
from services.core.usecases.renewals import waits_for_period_charge


def apply_by_staff(session: Session, clock: Clock, actor: Actor, staff: User,
                   subscription_id: uuid.UUID, code: str) -> CouponRedemption:
    """Redeem `code` on a live subscription; orders already placed keep their price."""
    sub = session.scalars(select(Subscription).where(Subscription.id == subscription_id)
                          .with_for_update()).one_or_none()
    if sub is None:
        raise NotFound("Subscription not found.")
    if sub.status not in {s.value for s in LIVE_SUBSCRIPTION_STATES}:
        raise Conflict(f"A {sub.status} subscription takes no coupon.", code="not_live",
                       errors={"subscription_id": [sub.status]})
    if waits_for_period_charge(sub):
        # ECPay charges a 定期定額 agreement the amount fixed at sign-up: a discount on the
        # order would not match what is charged.
        raise Conflict("This subscription is charged by a card agreement at a fixed amount.",
                       code="paid_by_agreement",
                       errors={"subscription_id": ["card agreement"]})
    redemption = coupons.redeem(session, clock, actor, sub, code, source=coupons.STAFF,
                                applied_by=staff.id)
    mrr.track(session, clock.now(), sub, sub.status)
    return redemption
