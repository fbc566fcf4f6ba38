"""Scrape-time gauges for outgoing webhooks (deliveries by state, the oldest still failing)
and MRR movements (this month's movements by kind, the booked MRR)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC
from decimal import Decimal

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import MrrMovement, WebhookDelivery
from services.core.domain.periods import TAIPEI

DELIVERY_STATES = ("pending", "failing", "succeeded", "failed")
MOVEMENTS = ("new", "expansion", "contraction", "churn_voluntary", "churn_delinquent",
             "reactivation")


@dataclass
class WebhookMrrSnapshot:
    deliveries: dict[str, int] = field(default_factory=dict)
    oldest_failing_seconds: float = 0.0
    movements_month: dict[str, Decimal] = field(default_factory=dict)
    booked_mrr: Decimal = Decimal(0)


def take(session: Session, clock: Clock) -> WebhookMrrSnapshot:
    snap = WebhookMrrSnapshot()
    now = clock.now()
    failing = (WebhookDelivery.status == "pending") & WebhookDelivery.first_failed_at.isnot(None)
    counts = dict(session.execute(
        select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
    ).all())
    n_failing = int(session.scalar(select(func.count()).where(failing)) or 0)
    snap.deliveries = {"pending": int(counts.get("pending", 0)) - n_failing,
                       "failing": n_failing, "succeeded": int(counts.get("succeeded", 0)),
                       "failed": int(counts.get("failed", 0))}
    oldest = session.scalar(select(func.min(WebhookDelivery.first_failed_at)).where(failing))
    snap.oldest_failing_seconds = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
    local = now.astimezone(TAIPEI)
    month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
    rows = session.execute(
        select(MrrMovement.kind, MrrMovement.reason, func.sum(MrrMovement.amount_twd))
        .where(MrrMovement.occurred_at >= month_start, MrrMovement.occurred_at <= now)
        .group_by(MrrMovement.kind, MrrMovement.reason)
    ).all()
    snap.movements_month = {k: Decimal(0) for k in MOVEMENTS}
    for kind, reason, amount in rows:
        key = f"churn_{reason}" if kind == "churn" else kind
        if key in snap.movements_month:
            snap.movements_month[key] += abs(Decimal(amount or 0))
    snap.booked_mrr = Decimal(session.scalar(
        select(func.coalesce(func.sum(MrrMovement.amount_twd), 0))
        .where(MrrMovement.occurred_at <= now)) or 0)
    return snap


def metrics_of(snap: WebhookMrrSnapshot) -> list[Metric]:
    deliveries = GaugeMetricFamily(
        "fluxus_billing_webhook_deliveries",
        "Outgoing webhook deliveries by state: pending (not yet tried), failing (tried, retry"
        " due), succeeded, failed (given up or endpoint disabled); events are kept 30 days.",
        labels=["state"],
    )
    for state in DELIVERY_STATES:
        deliveries.add_metric([state], float(snap.deliveries.get(state, 0)))
    oldest = GaugeMetricFamily(
        "fluxus_billing_webhook_oldest_failing_age_seconds",
        "Since when the oldest delivery still being retried has been failing (0: none).",
    )
    oldest.add_metric([], snap.oldest_failing_seconds)
    movements = GaugeMetricFamily(
        "fluxus_billing_mrr_movements_month_twd",
        "MRR movements so far this month (Asia/Taipei), NT$ excluding tax, as positive amounts"
        " by kind (new, expansion, contraction, churn_voluntary, churn_delinquent,"
        " reactivation).",
        labels=["kind"],
    )
    for kind in MOVEMENTS:
        movements.add_metric([kind], float(snap.movements_month.get(kind, 0)))
    booked = GaugeMetricFamily(
        "fluxus_billing_mrr_booked_twd",
        "MRR booked by the movements (active and past-due subscriptions, trials excluded),"
        " NT$ excluding tax, yearly plans ÷12.",
    )
    booked.add_metric([], float(snap.booked_mrr))
    return [deliveries, oldest, movements, booked]
