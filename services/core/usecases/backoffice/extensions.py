"""Staff extend a subscription on a customer's behalf: a free period, no order, no money.

The end date moves on and a `subscription_extensions` row says by whom, from when to when and
why; that row is what `fluxus audit books` accepts in place of a paid order for the period
ending then. The next renewal starts from the new end date (a short period back onto the
anchor day when the new end is off it: services.core.domain.periods.period_after)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import PlanChange, Subscription, SubscriptionExtension, User
from services.core.domain.periods import TAIPEI
from services.core.domain.states import SubscriptionStatus
from services.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from services.core.usecases import audit
from services.core.usecases.audit import Actor
from services.core.usecases.payments import closing

MAX_DAYS = 366  # a goodwill gesture, not a free year after year in one click
REASON_MAX = 500


@dataclass(frozen=True)
class ExtensionRequest:
    """Either `days` or `end_date` (a day in Asia/Taipei; the end keeps its time of day)."""

    reason: str
    days: int | None = None
    end_date: date | None = None
    request_key: str | None = None


def _new_end(current: datetime, req: ExtensionRequest) -> datetime:
    if (req.days is None) == (req.end_date is None):
        raise ValidationError("Give either a number of days or a new end date.",
                              errors={"days": ["Give days or end_date, not both."]})
    if req.days is not None:
        new_end = current + timedelta(days=req.days)  # Taiwan keeps no summer time
    else:
        assert req.end_date is not None  # noqa: S101 - checked just above
        clock_time = current.astimezone(TAIPEI).time()
        new_end = datetime.combine(req.end_date, time(clock_time.hour, clock_time.minute,
                                                      clock_time.second,
                                                      clock_time.microsecond), tzinfo=TAIPEI)
    if new_end <= current:
        raise ValidationError("The new end date must be after the current one.",
                              errors={"end_date": [f"after {current.astimezone(TAIPEI):%Y-%m-%d}"]})
    if new_end - current > timedelta(days=MAX_DAYS):
        raise ValidationError(f"At most {MAX_DAYS} days at a time.",
                              errors={"days": [f"At most {MAX_DAYS} days."]})
    return new_end


def _check_extendable(session: Session, sub: Subscription) -> datetime:
    if sub.status != SubscriptionStatus.ACTIVE.value or sub.end_date is None \
            or sub.anchor_date is None:
        raise Conflict(f"Only an active subscription with a paid period can be extended; this "
                       f"one is {sub.status}.", code="not_extendable",
                       errors={"subscription": [f"status {sub.status}"]})
    if sub.card_agreement is not None and sub.card_agreement.status == "active":
        # ECPay charges an agreement on its own dates; a moved end date would not move them.
        raise Conflict("ECPay charges this card agreement on its own schedule. Turn auto-renew "
                       "off first (the agreement is cancelled), then extend.",
                       code="card_agreement_active",
                       errors={"subscription": ["active card agreement"]})
    scheduled = session.scalars(select(PlanChange.id).where(
        PlanChange.subscription_id == sub.id, PlanChange.status == "scheduled")).first()
    if scheduled is not None:
        raise Conflict("A plan change is scheduled for the end of this period; cancel it "
                       "before extending.", code="plan_change_scheduled",
                       errors={"subscription": ["plan change scheduled"]})
    return sub.end_date


def extend(session: Session, clock: Clock, actor: Actor, caller: User,
           subscription_id: uuid.UUID, req: ExtensionRequest) -> SubscriptionExtension:
    """Move the end date on; audited. With a `request_key` a repeat returns the first one.

    An unpaid renewal order for the old end date is closed (a payment still arriving for it
    is parked for review): the renewal is asked for again before the new end date."""
    if not caller.is_staff:
        raise PermissionDenied("Only staff extend subscriptions.")
    reason = req.reason.strip()
    if not reason or len(reason) > REASON_MAX:
        raise ValidationError("Say why the subscription is extended.",
                              errors={"reason": [f"1 to {REASON_MAX} characters."]})
    sub = session.scalars(select(Subscription).where(Subscription.id == subscription_id)
                          .with_for_update()).one_or_none()
    if sub is None:
        raise NotFound("Subscription not found.")
    if req.request_key is not None:
        earlier = session.scalars(select(SubscriptionExtension).where(
            SubscriptionExtension.subscription_id == sub.id,
            SubscriptionExtension.idempotency_key == req.request_key)).one_or_none()
        if earlier is not None:
            return earlier
    current = _check_extendable(session, sub)
    new_end = _new_end(current, req)
    closing.close_open_orders(session, clock, sub, "subscription extended by staff",
                              only_from=current)
    sub.end_date = new_end
    extension = SubscriptionExtension(
        subscription_id=sub.id, user_id=sub.user_id, previous_end_date=current,
        new_end_date=new_end, reason=reason, created_by=caller.id,
        idempotency_key=req.request_key, created_at=clock.now())
    session.add(extension)
    session.flush()
    days = (new_end - current) / timedelta(days=1)
    audit.record(session, actor, "subscription_extended", resource_type="subscription",
                 resource_id=sub.id, description=(
                     f"Extended from {current.isoformat()} to {new_end.isoformat()} "
                     f"({days:g} days, no charge): {reason}"),
                 meta={"extension_id": str(extension.id), "from": current.isoformat(),
                       "to": new_end.isoformat(), "customer": str(sub.user_id)})
    return extension
