"""Coupons for staff (create, list, read, deactivate) and their redemption on a subscription,
at checkout by the customer's code or by staff. The redemption limit holds under concurrent
redemptions: the coupon's row is locked and counted under the lock (a check constraint is
the last guard)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import Coupon, CouponRedemption, Plan, Subscription, User
from services.core.domain.discounts import CouponKind, CouponTerms, Duration, check_duration
from services.core.errors import Conflict, NotFound, ValidationError
from services.core.usecases import audit
from services.core.usecases.api_pages import Page, paginate
from services.core.usecases.audit import Actor

CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{2,39}$")
CHECKOUT, STAFF = "checkout", "staff"


@dataclass(frozen=True)
class CouponSpec:
    code: str
    kind: str
    duration: str
    name: str = ""
    percent_off: int | None = None
    amount_off: Decimal | None = None
    duration_periods: int | None = None
    max_redemptions: int | None = None
    redeem_by: datetime | None = None
    plan_ids: tuple[uuid.UUID, ...] = ()


def normalize(code: str) -> str:
    return code.strip().upper()


def terms_of(coupon: Coupon) -> CouponTerms:
    return CouponTerms(CouponKind(coupon.kind), coupon.percent_off, coupon.amount_off)


def _checked(session: Session, clock: Clock, spec: CouponSpec) -> str:
    code = normalize(spec.code)
    if not CODE.fullmatch(code):
        raise ValidationError("A code is 3–40 letters, digits, '-' or '_'.",
                              errors={"code": ["3–40 of A–Z, 0–9, '-', '_'"]})
    CouponTerms(CouponKind(spec.kind), spec.percent_off, spec.amount_off).check()
    check_duration(Duration(spec.duration), spec.duration_periods)
    if spec.max_redemptions is not None and spec.max_redemptions < 1:
        raise ValidationError("A limit is 1 or more redemptions.",
                              errors={"max_redemptions": ["1 or more"]})
    if spec.redeem_by is not None and spec.redeem_by <= clock.now():
        raise ValidationError("The expiry is in the past.", errors={"redeem_by": ["past"]})
    known = set(session.scalars(select(Plan.id).where(Plan.id.in_(spec.plan_ids))))
    if unknown := [str(p) for p in spec.plan_ids if p not in known]:
        raise ValidationError("No plan with these ids.", errors={"plan_ids": unknown})
    if session.scalars(select(Coupon.id).where(Coupon.code == code)).first() is not None:
        raise Conflict("A coupon with this code exists.", code="coupon_code_taken",
                       errors={"code": [code]})
    return code


def create_coupon(session: Session, clock: Clock, actor: Actor, staff: User,
                  spec: CouponSpec) -> Coupon:
    code = _checked(session, clock, spec)
    coupon = Coupon(
        code=code, name=spec.name[:100], kind=spec.kind, percent_off=spec.percent_off,
        amount_off=spec.amount_off, duration=spec.duration,
        duration_periods=spec.duration_periods, max_redemptions=spec.max_redemptions,
        times_redeemed=0, redeem_by=spec.redeem_by,
        plan_ids=[str(p) for p in dict.fromkeys(spec.plan_ids)], active=True,
        created_by=staff.id)
    session.add(coupon)
    session.flush()  # the unique code settles two creations at once
    audit.record(session, actor, "coupon_create", resource_type="coupon", resource_id=coupon.id,
                 description=f"Coupon {code} created.", meta={"code": code})
    return coupon


def list_coupons(session: Session, *, page: int, page_size: int,
                 active: bool | None = None) -> Page[Coupon]:
    query = select(Coupon).order_by(Coupon.created_at.desc(), Coupon.id)
    if active is not None:
        query = query.where(Coupon.active.is_(active))
    return paginate(session, query, page=page, page_size=page_size)


def _find(code: str) -> str | None:
    # A string no code could be (NUL bytes, spaces) never reaches the database.
    wanted = normalize(code)
    return wanted if CODE.fullmatch(wanted) else None


def get_coupon(session: Session, code: str, *, for_update: bool = False) -> Coupon:
    query = select(Coupon).where(Coupon.code == _find(code))
    if for_update:
        query = query.with_for_update()
    coupon = session.scalars(query).one_or_none()
    if coupon is None:
        raise NotFound("No coupon with this code.", code="coupon_unknown")
    return coupon


def deactivate(session: Session, actor: Actor, code: str) -> Coupon:
    """No new redemptions; subscriptions that redeemed it keep their discount (as Stripe)."""
    coupon = get_coupon(session, code, for_update=True)
    if coupon.active:
        coupon.active = False
        audit.record(session, actor, "coupon_deactivate", resource_type="coupon",
                     resource_id=coupon.id, description=f"Coupon {coupon.code} deactivated.")
    return coupon


def _refuse(code: str, message: str) -> ValidationError:
    return ValidationError(message, code=code, errors={"coupon_code": [message]})


def _redeemable(coupon: Coupon | None, sub: Subscription, now: datetime) -> Coupon:
    if coupon is None:
        raise _refuse("coupon_unknown", "No coupon with this code.")
    if not coupon.active or (coupon.redeem_by is not None and coupon.redeem_by <= now):
        raise _refuse("coupon_expired", "This coupon has expired.")
    if coupon.plan_ids and str(sub.plan_id) not in coupon.plan_ids:
        raise _refuse("coupon_not_for_plan", "This coupon is not for this plan.")
    if coupon.max_redemptions is not None and coupon.times_redeemed >= coupon.max_redemptions:
        raise _refuse("coupon_exhausted", "This coupon has been used up.")
    return coupon


def redemption_of(session: Session, subscription_id: uuid.UUID) -> CouponRedemption | None:
    return session.scalars(select(CouponRedemption).where(
        CouponRedemption.subscription_id == subscription_id)).one_or_none()


def redeem(session: Session, clock: Clock, actor: Actor, sub: Subscription, code: str, *,
           source: str, applied_by: uuid.UUID | None = None) -> CouponRedemption:
    """Attach the coupon `code` to `sub` (the caller holds the subscription's row).

    The same code again is a no-op (a retried checkout); another coupon is 409. The coupon's
    row is locked last (after the customer's or the subscription's), so the order of locks
    is the same on every path, and the count is read under the lock.
    """
    coupon = session.scalars(select(Coupon).where(Coupon.code == _find(code))
                             .with_for_update()).one_or_none()
    existing = redemption_of(session, sub.id)
    if existing is not None:
        if coupon is not None and existing.coupon_id == coupon.id:
            return existing
        raise Conflict("This subscription already has a coupon.", code="coupon_already_applied",
                       errors={"coupon_code": ["one coupon per subscription"]})
    coupon = _redeemable(coupon, sub, clock.now())
    coupon.times_redeemed += 1
    redemption = CouponRedemption(coupon_id=coupon.id, subscription_id=sub.id,
                                  user_id=sub.user_id, periods_used=0, source=source,
                                  applied_by=applied_by)
    session.add(redemption)
    session.flush()
    audit.record(session, actor, "coupon_redeem", resource_type="subscription",
                 resource_id=sub.id, user_id=sub.user_id,
                 description=f"Coupon {coupon.code} applied ({source}).",
                 meta={"coupon": coupon.code, "source": source})
    return redemption
