"""MRR movements: how each customer's monthly recurring revenue moves, written with every
subscription change, and the monthly report built from them.

A customer's MRR is the sum over their active and past-due subscriptions of the plan price
normalised to a month (quarterly ÷3, yearly ÷12), less a running forever or repeating
coupon's discount, tax excluded (price × 100/105); trials
and ended subscriptions count nothing. Each change books the difference from the customer's
last booked MRR as one movement, so the movements of a customer always add up to their MRR:
starting + movements = ending holds for every month by construction, and the report's
`ending` is checked against the subscriptions themselves in the tests.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import ColumnElement, and_, func, or_, select, text
from sqlalchemy.orm import Session

from services.core.db.models import MrrMovement, Plan, Subscription
from services.core.domain.periods import TAIPEI, BillingCycle
from services.core.domain.states import SubscriptionStatus
from services.core.errors import ValidationError
from services.core.usecases import coupon_pricing

S = SubscriptionStatus
PAYING = (S.ACTIVE.value, S.PAST_DUE.value)  # past due counts until it churns


def _paying() -> ColumnElement[bool]:
    # A trial that ended unpaid waits past due for its first payment: never revenue (it has
    # no paid period, so no anchor), neither booked as new now nor as churn when it expires.
    return and_(Subscription.status.in_(PAYING),
                or_(Subscription.status == S.ACTIVE.value, Subscription.anchor_date.is_not(None),
                    Subscription.trial_end_date.is_(None)))
KINDS = ("new", "expansion", "contraction", "churn", "reactivation")
CENT = Decimal("0.01")
LOCK_SPACE = 2126  # advisory-lock namespace of MRR bookings (any int4 no one else uses)


def monthly_amount(price: Decimal | int, billing_cycle: str) -> Decimal:
    """A plan's price per month in NT$, tax excluded (prices are tax-inclusive integers)."""
    months = BillingCycle.parse(billing_cycle).months
    return (Decimal(price) * 100 / 105 / months).quantize(CENT, ROUND_HALF_UP)


def customer_mrr(session: Session, customer_id: uuid.UUID) -> Decimal:
    rows = session.execute(
        select(Subscription.id, Plan.id, Plan.price, Plan.billing_cycle).select_from(Subscription)
        .join(Plan, Plan.id == Subscription.plan_id)
        .where(Subscription.user_id == customer_id, _paying())
    ).all()
    # A forever or repeating coupon lowers what the customer pays each period (once: not).
    off = coupon_pricing.recurring_discounts(
        session, {sub_id: (plan_id, price) for sub_id, plan_id, price, _ in rows})
    return sum((monthly_amount(price - off.get(sub_id, 0), cycle)
                for sub_id, _, price, cycle in rows), Decimal("0.00"))


def _booked(session: Session, customer_id: uuid.UUID) -> tuple[Decimal, bool]:
    """The customer's MRR as booked (the sum of their movements, whatever their times), and
    whether they have any movement at all."""
    total, count = session.execute(
        select(func.coalesce(func.sum(MrrMovement.amount_twd), 0), func.count())
        .where(MrrMovement.customer_id == customer_id)
    ).one()
    return Decimal(total).quantize(CENT), bool(count)


def _serialize(session: Session, customer_id: uuid.UUID) -> None:
    """One booking per customer at a time, so each starts from what the last one booked.

    A transaction-scoped advisory lock, not the customer's row: paths that lock the customer
    row before a subscription (credit at checkout) and paths that book MRR after locking a
    subscription (payments, sweeps) must not wait on each other in a cycle. SQLite (the
    development default) has one writer at a time anyway."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:space, :key)"),
                        {"space": LOCK_SPACE, "key": customer_id.int % 2**31})


def _kind(before: Decimal, after: Decimal, churned_before: bool) -> str:
    if before == 0:
        return "reactivation" if churned_before else "new"
    if after == 0:
        return "churn"
    return "expansion" if after > before else "contraction"


def track(session: Session, at: datetime, sub: Subscription,
          previous_status: str | None) -> MrrMovement | None:
    """Book the change of `sub`'s customer's MRR (nothing when it did not move)."""
    _serialize(session, sub.user_id)
    before, booked_before = _booked(session, sub.user_id)
    after = customer_mrr(session, sub.user_id)
    if after == before:
        return None
    kind = _kind(before, after, booked_before)
    reason = ""
    if kind == "churn":
        delinquent = previous_status == S.PAST_DUE.value and sub.status == S.EXPIRED.value
        reason = "delinquent" if delinquent else "voluntary"
    movement = MrrMovement(
        customer_id=sub.user_id, subscription_id=sub.id, occurred_at=at, kind=kind,
        amount_twd=after - before, mrr_after_twd=after, reason=reason,
    )
    session.add(movement)
    session.flush()
    return movement


def reconcile(session: Session, at: datetime) -> list[MrrMovement]:
    """Book, for every customer whose booked MRR differs from their subscriptions now, the
    difference (reason `reconciled`; a churn counts as voluntary). Run once after the first
    deploy (subscriptions paying before MRR was booked) and whenever a change was missed."""
    paying = select(Subscription.user_id).where(_paying())
    booked = select(MrrMovement.customer_id)
    customers = session.scalars(paying.union(booked)).all()
    made = []
    for customer_id in customers:
        _serialize(session, customer_id)
        before, booked_before = _booked(session, customer_id)
        after = customer_mrr(session, customer_id)
        if after == before:
            continue
        kind = _kind(before, after, booked_before)
        movement = MrrMovement(
            customer_id=customer_id, subscription_id=None, occurred_at=at, kind=kind,
            amount_twd=after - before, mrr_after_twd=after,
            reason="voluntary" if kind == "churn" else "reconciled",
        )
        session.add(movement)
        made.append(movement)
    session.flush()
    return made


@dataclass(frozen=True)
class MonthRow:
    month: str  # YYYY-MM, Asia/Taipei
    starting: Decimal
    new: Decimal
    expansion: Decimal
    contraction: Decimal  # a decrease, as a positive amount
    churn_voluntary: Decimal  # positive
    churn_delinquent: Decimal  # positive
    reactivation: Decimal
    ending: Decimal
    revenue_churn_rate: Decimal | None  # (churn + contraction) ÷ starting
    net_revenue_retention: Decimal | None  # (starting + expansion − contraction − churn) ÷ starting


def _month_start(year: int, month: int) -> datetime:
    return datetime(year, month, 1, tzinfo=TAIPEI).astimezone(UTC)


def _months(first: date, last: date) -> list[tuple[int, int]]:
    out, (y, m) = [], (first.year, first.month)
    while (y, m) <= (last.year, last.month):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def report(session: Session, first: date, last: date) -> list[MonthRow]:
    """One row per month from `first`'s month to `last`'s (both inclusive, Taipei months)."""
    months = _months(first, last)
    if len(months) > 120:
        raise ValidationError("at most 120 months per report", errors={"to": ["range too long"]})
    start = _month_start(*months[0])
    starting = session.scalar(
        select(func.coalesce(func.sum(MrrMovement.amount_twd), 0))
        .where(MrrMovement.occurred_at < start)
    )
    balance = Decimal(starting or 0).quantize(CENT)
    rows = []
    for year, month in months:
        lo = _month_start(year, month)
        hi = _month_start(*((year + 1, 1) if month == 12 else (year, month + 1)))
        sums = {(k, r): Decimal(v or 0) for k, r, v in session.execute(
            select(MrrMovement.kind, MrrMovement.reason, func.sum(MrrMovement.amount_twd))
            .where(MrrMovement.occurred_at >= lo, MrrMovement.occurred_at < hi)
            .group_by(MrrMovement.kind, MrrMovement.reason)
        )}

        def total(kind: str, reason: str | None = None, sums: dict = sums) -> Decimal:
            return sum((v for (k, r), v in sums.items()
                        if k == kind and (reason is None or r == reason)), Decimal("0.00"))

        row_start, moved = balance, sum(sums.values(), Decimal("0.00"))
        balance = (balance + moved).quantize(CENT)
        churn = -total("churn")
        contraction = -total("contraction")
        rows.append(MonthRow(
            month=f"{year:04d}-{month:02d}", starting=row_start, new=total("new"),
            expansion=total("expansion"), contraction=contraction,
            churn_voluntary=-total("churn", "voluntary"),
            churn_delinquent=-total("churn", "delinquent"),
            reactivation=total("reactivation"), ending=balance,
            revenue_churn_rate=((churn + contraction) / row_start).quantize(Decimal("0.0001"))
            if row_start else None,
            net_revenue_retention=(
                (row_start + total("expansion") - contraction - churn) / row_start
            ).quantize(Decimal("0.0001")) if row_start else None,
        ))
    return rows


def to_csv(rows: list[MonthRow]) -> str:
    out = io.StringIO()
    fields = list(MonthRow.__dataclass_fields__)
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else str(v) for k, v in asdict(row).items()})
    return out.getvalue()


def current(session: Session) -> Decimal:
    """Everyone's MRR now: the sum of every movement."""
    total = session.scalar(select(func.coalesce(func.sum(MrrMovement.amount_twd), 0)))
    return Decimal(total or 0).quantize(CENT)
