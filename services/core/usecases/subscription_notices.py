"""E-mails that tell a customer what their own cancel or auto-renew choice means for access
and money. Queued in the same transaction as the change (the e-mail outbox), so a change that
rolls back sends nothing; rendered later in the customer's language."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import CardAgreement, Order, Refund, Subscription, User
from services.core.domain.periods import TAIPEI
from services.core.ports import Jobs
from services.core.usecases.emails import queue_email
from services.core.usecases.refunds.states import RefundStatus

_AGREEMENT_STOPPING = ("cancelling", "cancelled")


def _agreement_states(session: Session, sub: Subscription) -> set[str]:
    return set(session.scalars(
        select(CardAgreement.status).where(CardAgreement.subscription_id == sub.id)))


def _refund_total(session: Session, sub: Subscription) -> Decimal:
    """Money on its way back or back already for this subscription's orders."""
    total = session.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0))
        .join(Order, Order.id == Refund.order_id)
        .where(Order.subscription_id == sub.id, Refund.status != RefundStatus.FAILED.value,
               Refund.review_id.is_(None)))
    return Decimal(total or 0)


def notify_cancelled(session: Session, clock: Clock, jobs: Jobs, sub: Subscription) -> None:
    """The subscription was just cancelled: now, or (cancel_at_period_end) at its end."""
    when = "period_end" if sub.cancel_at_period_end else "now"
    refund = _refund_total(session, sub)
    queue_email(
        session, jobs, template="subscription_cancelled",
        user=session.get_one(User, sub.user_id),
        event_key=f"subscription_cancelled:{sub.id}:{when}",
        context={
            "subscription_id": str(sub.id), "when": when,
            "cancelled_on": clock.now().astimezone(TAIPEI).strftime("%Y-%m-%d"),
            "card_agreement": bool(_agreement_states(session, sub) & {"cancelling"}),
            "refund_total": f"NT${refund:,.0f}" if refund else "",
        },
    )


def notify_auto_renew(session: Session, clock: Clock, jobs: Jobs, sub: Subscription) -> None:
    """Auto-renew was just turned on or off (each change is its own e-mail)."""
    states = _agreement_states(session, sub)
    queue_email(
        session, jobs, template="auto_renew_changed",
        user=session.get_one(User, sub.user_id),
        event_key=f"auto_renew_changed:{sub.id}:{sub.auto_renew}:{clock.now().isoformat()}",
        context={
            "subscription_id": str(sub.id), "auto_renew": sub.auto_renew,
            "card_agreement": "cancelling" in states,
            "card_agreement_stopped": bool(states & set(_AGREEMENT_STOPPING)),
        },
    )
