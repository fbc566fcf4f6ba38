"""Business gauges computed on scrape (MRR, subscriptions, renewal lag, dunning, backlog,
the payment review queue and card agreements waiting to be cancelled at ECPay)."""

# Served by one process only (`fluxus scheduler`), so replicas never duplicate them, and
# cached (CachedCollector) so a scrape costs a handful of indexed aggregate queries at most
# every `ttl` seconds whatever the scrape interval.

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import Engine, and_, exists, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import (
    CardAgreement,
    EInvoice,
    Invoice,
    Order,
    PaymentNotification,
    PaymentReview,
    Plan,
    Subscription,
)
from services.core.db.session import session_scope
from services.core.domain.periods import BillingCycle
from services.core.domain.states import OrderStatus, SubscriptionStatus
from services.core.metrics_refunds import refund_counts, refund_metrics
from services.core.metrics_webhooks import WebhookMrrSnapshot, metrics_of, take
from services.core.usecases.payments.reviews import ReviewReason, ReviewStatus

log = logging.getLogger(__name__)

S = SubscriptionStatus
RENEWABLE = (S.ACTIVE.value, S.PAST_DUE.value)
ENDED = (S.EXPIRED.value, S.CANCELLED.value)
CHURN_WINDOW = timedelta(days=30)
# Days since the period ended, for past_due subscriptions (the dunning ladder).
# E-invoice states worth watching (issued and voided ones only grow; counted by the counter).
EINVOICE_WATCHED = ("pending", "failed", "not_issued")
DUNNING_STAGES = ((0, 1, "d0_1"), (1, 3, "d1_3"), (3, 7, "d3_7"), (7, None, "d7_plus"))


@dataclass
class BusinessSnapshot:
    mrr_twd: dict[str, Decimal] = field(default_factory=dict)  # plan -> monthly revenue
    subscriptions: dict[tuple[str, str], int] = field(default_factory=dict)  # (plan, status)
    churned_30d: dict[str, int] = field(default_factory=dict)
    renewal_lag_seconds: dict[str, float] = field(default_factory=dict)
    renewals_due: dict[str, int] = field(default_factory=dict)
    grace_seconds: dict[str, float] = field(default_factory=dict)
    dunning: dict[str, int] = field(default_factory=dict)
    orders: dict[str, int] = field(default_factory=dict)
    invoices: dict[str, int] = field(default_factory=dict)
    unprocessed: int = 0
    unprocessed_oldest_seconds: float = 0.0
    reviews_open: dict[str, int] = field(default_factory=dict)  # reason -> open items
    reviews_oldest_open_seconds: float = 0.0
    agreements_cancelling: int = 0
    agreements_cancelling_oldest_seconds: float = 0.0
    einvoices: dict[tuple[str, str], int] = field(default_factory=dict)  # (status, reason)
    einvoices_oldest_pending_seconds: float = 0.0
    refunds: dict[str, int] = field(default_factory=dict)  # attention state -> refunds
    refunds_oldest_in_flight_seconds: float = 0.0
    webhooks_mrr: WebhookMrrSnapshot = field(default_factory=WebhookMrrSnapshot)


def _renewal_backlog(session: Session, clock: Clock, snap: BusinessSnapshot) -> None:
    """Subscriptions whose period has ended without a paid renewal: the oldest one's age per
    plan (renewal lag), and how many have no renewal order at all (the renewer never ran)."""
    now = clock.now()
    order_for_period = and_(
        Order.subscription_id == Subscription.id, Order.period_start == Subscription.end_date
    )
    paid = exists().where(order_for_period, Order.status == OrderStatus.COMPLETED.value)
    lapsed = (
        Subscription.status.in_(RENEWABLE),
        Subscription.auto_renew.is_(True),
        Subscription.cancel_at_period_end.is_(False),
        Subscription.end_date <= now,
    )
    oldest_rows = session.execute(
        select(Plan.slug, func.min(Subscription.end_date))
        .select_from(Subscription)
        .join(Plan, Plan.id == Subscription.plan_id)
        .where(*lapsed, ~paid)
        .group_by(Plan.slug)
    )
    for slug, oldest in oldest_rows:
        if oldest is not None:
            snap.renewal_lag_seconds[slug] = max(0.0, (now - oldest).total_seconds())
    due_rows = session.execute(
        select(Plan.slug, func.count())
        .select_from(Subscription)
        .join(Plan, Plan.id == Subscription.plan_id)
        .where(*lapsed, ~exists().where(order_for_period))
        .group_by(Plan.slug)
    )
    snap.renewals_due.update({slug: count for slug, count in due_rows})


def _dunning(session: Session, clock: Clock, snap: BusinessSnapshot) -> None:
    now = clock.now()
    snap.dunning = {stage: 0 for _lo, _hi, stage in DUNNING_STAGES}
    ends = session.scalars(
        select(Subscription.end_date).where(
            Subscription.status == S.PAST_DUE.value, Subscription.end_date.is_not(None)
        )
    )
    for end in ends:
        if end is None:
            continue
        days = (now - end).total_seconds() / 86400
        for low, high, stage in DUNNING_STAGES:
            if days >= low and (high is None or days < high):
                snap.dunning[stage] += 1
                break
        else:
            snap.dunning["d0_1"] += 1  # not yet at period end (a manual past_due)


def _payments(session: Session, clock: Clock, snap: BusinessSnapshot) -> None:
    count, oldest = session.execute(
        select(func.count(), func.min(PaymentNotification.received_at)).where(
            PaymentNotification.verdict == "accepted", PaymentNotification.processed_at.is_(None)
        )
    ).one()
    snap.unprocessed = count
    if oldest is not None:
        snap.unprocessed_oldest_seconds = max(0.0, (clock.now() - oldest).total_seconds())


def _reviews_and_agreements(session: Session, clock: Clock, snap: BusinessSnapshot) -> None:
    """Parked money nobody has decided about yet, and agreements whose cancellation ECPay has
    not confirmed (ECPay keeps charging the card until it does)."""
    now = clock.now()
    open_rows = session.execute(
        select(PaymentReview.reason, func.count(), func.min(PaymentReview.arrived_at))
        .where(PaymentReview.status == ReviewStatus.OPEN.value)
        .group_by(PaymentReview.reason)
    ).all()
    snap.reviews_open = {reason: count for reason, count, _oldest in open_rows}
    oldest = min((row[2] for row in open_rows), default=None)
    if oldest is not None:
        snap.reviews_oldest_open_seconds = max(0.0, (now - oldest).total_seconds())
    requested = func.coalesce(CardAgreement.cancel_requested_at, CardAgreement.updated_at)
    count, first = session.execute(
        select(func.count(), func.min(requested)).where(CardAgreement.status == "cancelling")
    ).one()
    snap.agreements_cancelling = count
    if first is not None:
        snap.agreements_cancelling_oldest_seconds = max(0.0, (now - first).total_seconds())


def _einvoices(session: Session, clock: Clock, snap: BusinessSnapshot) -> None:
    """E-invoices by state and reason, and how long the oldest unissued sale has waited (the
    law allows two days)."""
    rows = session.execute(
        select(EInvoice.status, EInvoice.reason, func.count())
        .where(EInvoice.status.in_(EINVOICE_WATCHED)).group_by(EInvoice.status, EInvoice.reason)
    ).all()
    snap.einvoices = {(status, reason or ""): count for status, reason, count in rows}
    oldest = session.scalar(
        select(func.min(EInvoice.created_at)).where(EInvoice.status == "pending"))
    if oldest is not None:
        snap.einvoices_oldest_pending_seconds = max(
            0.0, (clock.now() - oldest).total_seconds())


def take_snapshot(session: Session, clock: Clock) -> BusinessSnapshot:
    snap = BusinessSnapshot()
    plans = session.execute(
        select(Plan.slug, Plan.price, Plan.billing_cycle, Plan.grace_days)
    ).all()
    monthly = {
        slug: Decimal(price) / BillingCycle.parse(cycle).months for slug, price, cycle, _g in plans
    }
    snap.grace_seconds = {slug: grace * 86400.0 for slug, _p, _c, grace in plans}
    status_rows = session.execute(
        select(Plan.slug, Subscription.status, func.count())
        .select_from(Subscription)
        .join(Plan, Plan.id == Subscription.plan_id)
        .group_by(Plan.slug, Subscription.status)
    )
    for slug, status, count in status_rows:
        snap.subscriptions[(slug, status)] = count
    snap.mrr_twd = {
        slug: monthly[slug] * snap.subscriptions.get((slug, S.ACTIVE.value), 0) for slug in monthly
    }
    since = clock.now() - CHURN_WINDOW
    churn_rows = session.execute(
        select(Plan.slug, func.count())
        .select_from(Subscription)
        .join(Plan, Plan.id == Subscription.plan_id)
        .where(Subscription.status.in_(ENDED), Subscription.updated_at >= since)
        .group_by(Plan.slug)
    )
    snap.churned_30d = {slug: 0 for slug in monthly} | {slug: n for slug, n in churn_rows}
    _renewal_backlog(session, clock, snap)
    _dunning(session, clock, snap)
    orders = session.execute(select(Order.status, func.count()).group_by(Order.status))
    snap.orders = {status: count for status, count in orders}
    paid, total = session.execute(select(func.count(Invoice.paid_at), func.count())).one()
    snap.invoices = {"paid": paid, "unpaid": total - paid}
    _payments(session, clock, snap)
    _reviews_and_agreements(session, clock, snap)
    _einvoices(session, clock, snap)
    snap.refunds, snap.refunds_oldest_in_flight_seconds = refund_counts(session, clock)
    snap.webhooks_mrr = take(session, clock)
    return snap


def _gauge(
    name: str,
    doc: str,
    labels: list[str],
    rows: Iterable[tuple[tuple[str, ...], float | int | Decimal]],
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=labels)
    for label_values, value in rows:
        family.add_metric(list(label_values), float(value))
    return family


def snapshot_metrics(snap: BusinessSnapshot) -> list[Metric]:
    plans = sorted(snap.grace_seconds)
    statuses = [s.value for s in SubscriptionStatus]
    return [
        _gauge(
            "fluxus_billing_mrr_twd",
            "Monthly recurring revenue of active subscriptions, TWD.",
            ["plan"],
            (((p,), v) for p, v in sorted(snap.mrr_twd.items())),
        ),
        _gauge(
            "fluxus_billing_subscriptions",
            "Subscriptions by plan and status.",
            ["plan", "status"],
            (((p, s), snap.subscriptions.get((p, s), 0)) for p in plans for s in statuses),
        ),
        _gauge(
            "fluxus_billing_subscriptions_churned_30d",
            "Subscriptions that expired or were cancelled in the last 30 days.",
            ["plan"],
            (((p,), v) for p, v in sorted(snap.churned_30d.items())),
        ),
        _gauge(
            "fluxus_billing_renewal_lag_seconds",
            "Age of the oldest subscription past its period end without a paid renewal.",
            ["plan"],
            (((p,), snap.renewal_lag_seconds.get(p, 0.0)) for p in plans),
        ),
        _gauge(
            "fluxus_billing_renewals_due",
            "Subscriptions past their period end that have no renewal order yet.",
            ["plan"],
            (((p,), snap.renewals_due.get(p, 0)) for p in plans),
        ),
        _gauge(
            "fluxus_billing_plan_grace_period_seconds",
            "The plan's grace period (how long a renewal may stay unpaid).",
            ["plan"],
            (((p,), snap.grace_seconds[p]) for p in plans),
        ),
        _gauge(
            "fluxus_billing_dunning_subscriptions",
            "past_due subscriptions by days since their period ended.",
            ["stage"],
            (((s,), v) for s, v in snap.dunning.items()),
        ),
        _gauge(
            "fluxus_billing_orders",
            "Orders by status.",
            ["status"],
            (((s.value,), snap.orders.get(s.value, 0)) for s in OrderStatus),
        ),
        _gauge(
            "fluxus_billing_invoices",
            "Invoices, paid or not.",
            ["state"],
            (((s,), v) for s, v in snap.invoices.items()),
        ),
        _gauge(
            "fluxus_payment_notifications_unprocessed",
            "Accepted ECPay notifications stored but not yet applied.",
            [],
            [((), snap.unprocessed)],
        ),
        _gauge(
            "fluxus_payment_notifications_unprocessed_oldest_age_seconds",
            "How long the oldest unapplied accepted notification has waited.",
            [],
            [((), snap.unprocessed_oldest_seconds)],
        ),
        *_review_metrics(snap),
        *_einvoice_metrics(snap),
        *refund_metrics(snap.refunds, snap.refunds_oldest_in_flight_seconds),
        *metrics_of(snap.webhooks_mrr),
    ]


def _einvoice_metrics(snap: BusinessSnapshot) -> list[Metric]:
    # pending and failed always listed, so a cleared backlog reads 0 rather than vanishing.
    counts = {("pending", ""): 0, ("failed", "refused"): 0, ("failed", "range_exhausted"): 0}
    counts |= snap.einvoices
    return [
        _gauge(
            "fluxus_billing_einvoices",
            "E-invoices not (yet) issued, by state (pending, failed, not_issued) and reason.",
            ["state", "reason"],
            ((key, count) for key, count in sorted(counts.items())),
        ),
        _gauge(
            "fluxus_billing_einvoices_oldest_pending_age_seconds",
            "How long the oldest sale still waiting for its e-invoice has waited (law: 2 days).",
            [],
            [((), snap.einvoices_oldest_pending_seconds)],
        ),
    ]


def _review_metrics(snap: BusinessSnapshot) -> list[Metric]:
    # Every reason is listed (0 when none is open) so a cleared queue reads 0, not absent.
    reasons = sorted({r.value for r in ReviewReason} | set(snap.reviews_open))
    return [
        _gauge(
            "fluxus_payment_reviews_open",
            "Payments parked for a person to decide (open review items), by reason.",
            ["reason"],
            (((r,), snap.reviews_open.get(r, 0)) for r in reasons),
        ),
        _gauge(
            "fluxus_payment_reviews_oldest_open_age_seconds",
            "How long the money of the oldest open review item has waited since it arrived.",
            [],
            [((), snap.reviews_oldest_open_seconds)],
        ),
        _gauge(
            "fluxus_payment_agreements_cancelling",
            "Card agreements (定期定額) waiting for ECPay to confirm their cancellation.",
            [],
            [((), snap.agreements_cancelling)],
        ),
        _gauge(
            "fluxus_payment_agreements_cancelling_oldest_age_seconds",
            "How long the oldest unconfirmed card-agreement cancellation has waited.",
            [],
            [((), snap.agreements_cancelling_oldest_seconds)],
        ),
    ]


class _Part:
    def __init__(self, build: Callable[[], list[Metric]]) -> None:
        self.build = build
        self.families: list[Metric] = []
        self.built_at: float | None = None
        self.errors = 0
        self.duration = 0.0

    def refresh(self, name: str) -> None:
        started = time.monotonic()
        try:
            self.families = self.build()
        except (SQLAlchemyError, OSError, ConnectionError) as exc:
            # Redis errors subclass ConnectionError/OSError; anything else is a bug to surface.
            self.errors += 1
            log.warning("metrics collector %s failed: %s", name, exc)
        self.duration = time.monotonic() - started
        self.built_at = time.monotonic()


class CachedCollector:
    """Runs each named build at most once per `ttl` seconds; a failing build is counted and
    its last good families are served (stale rather than absent, so alerts do not flap)."""

    def __init__(self, builds: dict[str, Callable[[], list[Metric]]], ttl: float = 30.0) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._parts = {name: _Part(build) for name, build in builds.items()}

    def collect(self) -> Iterator[Metric]:
        errors = CounterMetricFamily(
            "fluxus_scrape_collector_errors",
            "Scrape-time collector builds that failed.",
            labels=["collector"],
        )
        duration = GaugeMetricFamily(
            "fluxus_scrape_collector_duration_seconds",
            "How long the last build of each scrape-time collector took.",
            labels=["collector"],
        )
        families: list[Metric] = []
        with self._lock:
            for name, part in self._parts.items():
                if part.built_at is None or time.monotonic() - part.built_at >= self.ttl:
                    part.refresh(name)
                families.extend(part.families)
                errors.add_metric([name], part.errors)
                duration.add_metric([name], part.duration)
        yield from families
        yield errors
        yield duration


def business_build(engine: Engine, clock: Clock) -> Callable[[], list[Metric]]:
    """The business part of the scheduler's collector."""

    def build() -> list[Metric]:
        with session_scope(engine) as session:
            return snapshot_metrics(take_snapshot(session, clock))

    return build
