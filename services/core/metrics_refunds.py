"""Scrape-time refund gauges: refunds a person must look at, and the oldest still in flight."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import Refund
from services.core.usecases.refunds.states import IN_FLIGHT, RETURNED, EInvoiceStep, RefundStatus

# A returned refund whose e-invoice step is still pending after this is "einvoice_late".
EINVOICE_GRACE = timedelta(hours=1)
ATTENTION_STATES = ("failed", "einvoice_failed", "einvoice_late", "owed", "in_flight")


def refund_counts(session: Session, clock: Clock) -> tuple[dict[str, int], float]:
    """Counts by attention state, and the age in seconds of the oldest card refund in flight."""
    def count(*where: object) -> int:
        return int(session.scalar(
            select(func.count()).select_from(Refund).where(*where)) or 0)  # type: ignore[arg-type]

    counts = {
        "failed": count(Refund.status == RefundStatus.FAILED.value),
        "einvoice_failed": count(Refund.einvoice_status == EInvoiceStep.FAILED.value),
        "einvoice_late": count(Refund.status.in_(RETURNED),
                               Refund.einvoice_status == EInvoiceStep.PENDING.value,
                               Refund.completed_at < clock.now() - EINVOICE_GRACE),
        "owed": count(Refund.status == RefundStatus.OWED.value),
        "in_flight": count(Refund.status.in_(IN_FLIGHT)),
    }
    oldest = session.scalar(select(func.min(Refund.created_at)).where(
        Refund.status.in_(IN_FLIGHT)))
    age = max(0.0, (clock.now() - oldest).total_seconds()) if oldest is not None else 0.0
    return counts, age


def refund_metrics(counts: dict[str, int], oldest_in_flight: float) -> list[Metric]:
    attention = GaugeMetricFamily(
        "fluxus_payment_refunds_attention",
        "Refunds by what they wait for: failed (ECPay refused or kept failing), einvoice_failed,"
        " einvoice_late (money back, e-invoice not corrected within an hour), owed (manual"
        " transfer not confirmed), in_flight (card refunds not yet answered).",
        labels=["state"],
    )
    for state in ATTENTION_STATES:
        attention.add_metric([state], float(counts.get(state, 0)))
    oldest = GaugeMetricFamily(
        "fluxus_payment_refunds_oldest_in_flight_age_seconds",
        "How long the oldest card refund still in flight has waited.",
    )
    oldest.add_metric([], oldest_in_flight)
    return [attention, oldest]
