"""/metrics output that promtool accepts: the Flask apps, and the scheduler's gauges computed
from real PostgreSQL and Redis rows; request ids carried into jobs by the worker."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from prometheus_client import REGISTRY, generate_latest
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.session import dispose_engines
from services.core.logging import JsonFormatter, request_id_var
from services.core.metrics import SCRAPE_TIME_METRICS
from services.core.metrics_runtime import build_registry
from services.core.usecases.audit import Actor
from services.worker import context
from services.worker.cli import scrape_time_collector
from services.worker.queues import enqueue_now, queue, redis_connection
from services.worker.registry import ALL_QUEUES, EMAIL
from services.worker.runner import FluxusInlineWorker
from tests.observability.conftest import promtool_check_metrics, sample, total
from tests.support.factories import make_order, make_plan, make_subscription, make_user

pytestmark = pytest.mark.integration

NOW = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def pinned(settings: Settings) -> Iterator[Settings]:
    context.use(settings, FixedClock(NOW))
    try:
        yield settings
    finally:
        context.use(None, None)
        dispose_engines()


@pytest.mark.parametrize("service", ["api", "payment"])
def test_instrumented_flask_apps_expose_valid_metrics(
    service: str, settings: Settings, promtool: str
) -> None:
    if service == "api":
        from services.api.app import create_app
    else:
        from services.payment.app import create_app  # type: ignore[no-redef]
    client = create_app(settings).test_client()  # create_app instruments itself
    health = f"/{service}/health/live"
    for _ in range(2):
        client.get(health)
    client.get(f"/{service}/nothing-here/{uuid.uuid4()}")

    text = generate_latest(REGISTRY).decode()
    result = promtool_check_metrics(promtool, text)
    assert result.returncode == 0, result.stdout + result.stderr
    routed = {
        s.labels["endpoint"]
        for family in REGISTRY.collect()
        for s in family.samples
        if s.name == "fluxus_http_requests_total" and s.labels["service"] == service
    }
    assert "<unmatched>" in routed
    assert not any("nothing-here" in endpoint for endpoint in routed)


def _seed(session: Session) -> dict[str, str]:
    """Two plans; active, lapsed, past_due and expired subscriptions; orders; a notification
    still waiting."""
    from services.core.db.models import PaymentNotification

    basic = make_plan(session, price=Decimal(990), billing_cycle="monthly", grace_days=7)
    yearly = make_plan(session, price=Decimal(12000), billing_cycle="yearly", grace_days=3)
    for plan in (basic, basic, yearly):
        user = make_user(session)
        sub = make_subscription(
            session,
            user,
            plan,
            status="active",
            anchor_date=NOW - timedelta(days=10),
            start_date=NOW - timedelta(days=10),
            end_date=NOW + timedelta(days=20),
        )
        make_order(session, sub, status="completed", paid_at=NOW - timedelta(days=10))
    # Lapsed 2 days ago, renewal order created but unpaid: past_due in dunning stage d1_3.
    lapsed = make_subscription(
        session,
        make_user(session),
        basic,
        status="past_due",
        anchor_date=NOW - timedelta(days=32),
        start_date=NOW - timedelta(days=32),
        end_date=NOW - timedelta(days=2),
    )
    make_order(
        session,
        lapsed,
        status="pending",
        is_renewal=True,
        period_start=lapsed.end_date,
        period_end=NOW + timedelta(days=28),
    )
    # Lapsed 5 hours ago with no renewal order at all (the renewer never ran for it).
    make_subscription(
        session,
        make_user(session),
        yearly,
        status="active",
        anchor_date=NOW - timedelta(days=365, hours=5),
        start_date=NOW - timedelta(days=365, hours=5),
        end_date=NOW - timedelta(hours=5),
    )
    make_subscription(
        session, make_user(session), basic, status="expired", updated_at=NOW - timedelta(days=3)
    )
    waiting = make_order(session, make_subscription(session, make_user(session), basic))
    session.add(
        PaymentNotification(
            dedupe_key=uuid.uuid4().hex,
            kind="return",
            merchant_trade_no=waiting.order_number,
            order_id=waiting.id,
            verdict="accepted",
            raw={},
            received_at=NOW - timedelta(minutes=4),
        )
    )
    session.commit()
    return {"basic": basic.slug, "yearly": yearly.slug}


def test_scheduler_gauges_report_money_renewals_dunning_and_queues(
    session: Session, settings: Settings, promtool: str
) -> None:
    plans = _seed(session)
    connection = redis_connection(settings)
    for _ in range(3):
        enqueue_now(connection, "send_email", str(uuid.uuid4()))
    collector = scrape_time_collector(settings, connection, FixedClock(NOW))
    text = generate_latest(build_registry([collector])).decode()
    connection.close()

    result = promtool_check_metrics(promtool, text)
    assert result.returncode == 0, result.stdout + result.stderr
    exposed = {line.split(" ")[2] for line in text.splitlines() if line.startswith("# TYPE")}
    exposed |= {name + "_total" for name in exposed}
    assert exposed >= SCRAPE_TIME_METRICS
    basic, yearly = plans["basic"], plans["yearly"]
    # MRR: 2 × 990 monthly + 12000 / 12 yearly; the lapsed yearly one is still "active" too.
    assert sample(text, "fluxus_billing_mrr_twd", plan=basic) == 1980
    assert sample(text, "fluxus_billing_mrr_twd", plan=yearly) == 2000
    assert sample(text, "fluxus_billing_subscriptions", plan=basic, status="active") == 2
    assert sample(text, "fluxus_billing_subscriptions", plan=basic, status="past_due") == 1
    assert sample(text, "fluxus_billing_subscriptions_churned_30d", plan=basic) == 1
    assert sample(text, "fluxus_billing_renewal_lag_seconds", plan=basic) == 2 * 86400
    assert sample(text, "fluxus_billing_renewal_lag_seconds", plan=yearly) == 5 * 3600
    assert sample(text, "fluxus_billing_renewals_due", plan=yearly) == 1
    assert sample(text, "fluxus_billing_renewals_due", plan=basic) == 0
    assert sample(text, "fluxus_billing_plan_grace_period_seconds", plan=yearly) == 3 * 86400
    assert sample(text, "fluxus_billing_dunning_subscriptions", stage="d1_3") == 1
    assert sample(text, "fluxus_billing_orders", status="completed") == 3
    assert sample(text, "fluxus_billing_orders", status="pending") == 2
    assert sample(text, "fluxus_payment_notifications_unprocessed") == 1
    assert sample(text, "fluxus_payment_notifications_unprocessed_oldest_age_seconds") == 240
    assert sample(text, "fluxus_queue_depth", queue=EMAIL) == 3
    assert total(text, "fluxus_queue_workers") == 0
    assert sample(text, "fluxus_scrape_collector_errors_total", collector="business") == 0


def _agreement(session: Session, status: str, requested: datetime | None) -> None:
    from services.core.db.models import CardAgreement

    sub = make_subscription(session, make_user(session), make_plan(session))
    session.add(
        CardAgreement(
            subscription_id=sub.id,
            merchant_trade_no=f"FXA{uuid.uuid4().hex[:12]}",
            status=status,
            period_type="M",
            frequency=1,
            exec_times=99,
            period_amount=990,
            first_charged_at=NOW - timedelta(days=40),
            cancel_requested_at=requested,
        )
    )


def test_scheduler_gauges_report_the_review_queue_and_unconfirmed_cancellations(
    session: Session, settings: Settings, promtool: str
) -> None:
    from services.core.usecases.payments.review_queue import resolve
    from services.core.usecases.payments.reviews import ReviewReason, park

    def parked(reason: ReviewReason, age: timedelta) -> uuid.UUID:
        return park(
            session,
            source_key=f"test:{uuid.uuid4()}",
            reason=reason,
            arrived_at=NOW - age,
            detail="seeded",
            amount=990,
        )

    parked(ReviewReason.DUPLICATE_PAYMENT, timedelta(hours=30))
    parked(ReviewReason.DUPLICATE_PAYMENT, timedelta(minutes=10))
    parked(ReviewReason.UNKNOWN_ORDER, timedelta(hours=2))
    # Resolved long ago: no longer counted, and its age no longer matters.
    done = parked(ReviewReason.AMOUNT_MISMATCH, timedelta(days=9))
    staff = make_user(session, is_staff=True)
    resolve(
        session,
        FixedClock(NOW),
        Actor(user_id=staff.id),
        staff,
        done,
        decision="dismissed",
        note="test payment",
    )
    _agreement(session, "cancelling", NOW - timedelta(minutes=90))
    _agreement(session, "cancelling", NOW - timedelta(minutes=5))
    _agreement(session, "cancelled", NOW - timedelta(days=3))
    _agreement(session, "active", None)
    session.commit()

    connection = redis_connection(settings)
    collector = scrape_time_collector(settings, connection, FixedClock(NOW))
    text = generate_latest(build_registry([collector])).decode()
    connection.close()

    result = promtool_check_metrics(promtool, text)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sample(text, "fluxus_payment_reviews_open", reason="duplicate_payment") == 2
    assert sample(text, "fluxus_payment_reviews_open", reason="unknown_order") == 1
    assert sample(text, "fluxus_payment_reviews_open", reason="amount_mismatch") == 0
    assert total(text, "fluxus_payment_reviews_open") == 3
    assert sample(text, "fluxus_payment_reviews_oldest_open_age_seconds") == 30 * 3600
    assert sample(text, "fluxus_payment_agreements_cancelling") == 2
    assert sample(text, "fluxus_payment_agreements_cancelling_oldest_age_seconds") == 90 * 60


def test_an_empty_review_queue_reads_zero_not_absent(session: Session, settings: Settings) -> None:
    connection = redis_connection(settings)
    collector = scrape_time_collector(settings, connection, FixedClock(NOW))
    text = generate_latest(build_registry([collector])).decode()
    connection.close()
    assert sample(text, "fluxus_payment_reviews_open", reason="duplicate_payment") == 0
    assert sample(text, "fluxus_payment_reviews_oldest_open_age_seconds") == 0
    assert sample(text, "fluxus_payment_agreements_cancelling") == 0
    assert sample(text, "fluxus_payment_agreements_cancelling_oldest_age_seconds") == 0


def test_a_job_logs_under_the_request_id_it_was_enqueued_with(pinned: Settings) -> None:
    connection = redis_connection(pinned)
    token = request_id_var.set("req-from-webhook-42")
    try:
        enqueue_now(connection, "expire_subscriptions")
    finally:
        request_id_var.reset(token)
    other = enqueue_now(connection, "end_trials")  # enqueued outside any request
    assert other is not None
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())  # formats at emit time, as in production
    logger = logging.getLogger("services.worker.jobs.periodic")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        worker = FluxusInlineWorker(
            [queue(n, connection) for n in ALL_QUEUES], connection=connection
        )
        worker.work(burst=True, logging_level="WARNING")
    finally:
        logger.removeHandler(handler)
    lines = {
        entry["message"].split(":")[0]: entry
        for entry in map(json.loads, out.getvalue().splitlines())
    }
    assert lines["expiry sweep"]["request_id"] == "req-from-webhook-42"
    assert lines["trial sweep"]["request_id"] == other.id
    assert request_id_var.get() is None  # nothing leaks past the job
    finished = REGISTRY.get_sample_value(
        "fluxus_jobs_finished_total", {"job_name": "expire_subscriptions", "queue": "maintenance"}
    )
    assert finished is not None and finished >= 1
    connection.close()
