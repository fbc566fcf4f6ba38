"""Renewals: one order per (subscription, period), across month ends, leap years and races."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db import migrate
from services.core.db.models import AuditLog, EmailDelivery, Order, Plan, Subscription
from services.core.db.session import make_engine
from services.core.domain.periods import BillingCycle, add_cycles
from services.core.ports import RecordingJobs
from services.core.usecases import renewals
from services.core.usecases.renewals import DueRenewal
from services.worker.cli import renew_plan
from services.worker.queues import queue, redis_connection
from services.worker.registry import RENEWALS
from tests.integration.worker.conftest import Inbox, body, fluxus, fluxus_popen, run_burst
from tests.support.factories import make_plan, make_subscription, make_user

pytestmark = pytest.mark.integration
TAIPEI = ZoneInfo("Asia/Taipei")


def taipei(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 10, 0, tzinfo=TAIPEI).astimezone(UTC)


def active_sub(session: Session, plan: Plan, anchor: datetime, **fields: object) -> Subscription:
    cycle = BillingCycle(plan.billing_cycle)
    values: dict[str, object] = {
        "status": "active",
        "anchor_date": anchor,
        "start_date": anchor,
        "end_date": add_cycles(anchor, cycle, 1),
        "payment_method": "atm",
    }
    return make_subscription(session, make_user(session), plan, **{**values, **fields})


def renewal_orders(session: Session, sub: Subscription) -> list[Order]:
    session.expire_all()
    return list(session.scalars(select(Order).where(Order.subscription_id == sub.id)))


@pytest.mark.parametrize(
    ("cycle", "anchor", "period_start", "period_end"),
    [
        ("monthly", (2027, 1, 31), (2027, 2, 28), (2027, 3, 31)),
        ("monthly", (2028, 1, 31), (2028, 2, 29), (2028, 3, 31)),
        ("quarterly", (2027, 11, 30), (2028, 2, 29), (2028, 5, 30)),
        ("yearly", (2028, 2, 29), (2029, 2, 28), (2030, 2, 28)),
    ],
)
def test_renewal_period_follows_the_anchor_day(
    session: Session,
    wsettings: Settings,
    cycle: str,
    anchor: tuple[int, int, int],
    period_start: tuple[int, int, int],
    period_end: tuple[int, int, int],
) -> None:
    plan = make_plan(session, billing_cycle=cycle, price=Decimal(2990))
    sub = active_sub(session, plan, taipei(*anchor))
    session.commit()
    now = FixedClock(taipei(*period_start) - timedelta(days=1))

    assert renew_plan(wsettings, now, plan.slug, batch_size=10, lead=timedelta(days=3)) == (1, 1)
    run_burst(wsettings)

    [order] = renewal_orders(session, sub)
    assert (order.period_start, order.period_end) == (taipei(*period_start), taipei(*period_end))
    assert (order.amount, order.is_renewal, order.status) == (Decimal(2990), True, "pending")


def test_offline_subscriptions_get_a_payment_link_and_card_agreements_wait(
    session: Session, wsettings: Settings, smtp: tuple[Inbox, int]
) -> None:
    plan = make_plan(session)
    atm = active_sub(session, plan, taipei(2027, 1, 10))
    card = active_sub(
        session,
        plan,
        taipei(2027, 1, 10),
        payment_method="credit_card",
        period_agreement_no="FXAGREEMENT01",
    )
    not_yet = active_sub(session, plan, taipei(2027, 1, 20))
    session.commit()

    renew_plan(
        wsettings, FixedClock(taipei(2027, 2, 8)), plan.slug, batch_size=10, lead=timedelta(days=3)
    )
    run_burst(wsettings)

    [atm_order] = renewal_orders(session, atm)
    assert len(renewal_orders(session, card)) == 1
    assert renewal_orders(session, not_yet) == []
    inbox, _port = smtp
    assert len(inbox.messages) == 1  # the card is charged by ECPay: no link for it
    text = body(inbox.messages[0], "plain")
    assert f"https://app.example.tw/orders/{atm_order.id}" in text
    assert "2027-02-10" in text and "2027-03-10" in text


def test_two_renewers_at_once_create_one_order_per_subscription(
    session: Session, wsettings: Settings
) -> None:
    plan = make_plan(session)
    subs = [active_sub(session, plan, taipei(2027, 1, 1 + n % 20)) for n in range(30)]
    session.commit()
    now = "2027-02-25T00:00:00Z"

    racers = [
        fluxus_popen(wsettings, "renew", "--plan", plan.slug, "--now", now, "--batch-size", "4")
        for _ in range(2)
    ]
    outputs = [proc.communicate(timeout=90) for proc in racers]
    assert [proc.returncode for proc in racers] == [0, 0], outputs
    assert all(f"renew {plan.slug}:" in out for out, _err in outputs)
    run_burst(wsettings)
    again = fluxus(wsettings, "renew", "--plan", plan.slug, "--now", now)
    run_burst(wsettings)

    assert again.returncode == 0 and "0 renewals enqueued" in again.stdout
    session.expire_all()
    rows = session.execute(
        select(Order.subscription_id, func.count()).group_by(Order.subscription_id)
    ).all()
    per_sub = {sub_id: count for sub_id, count in rows}
    assert per_sub == {sub.id: 1 for sub in subs}
    assert session.scalar(select(func.count()).select_from(EmailDelivery)) == 30


def test_unknown_plan_exits_non_zero(wsettings: Settings) -> None:
    result = fluxus(wsettings, "renew", "--plan", "no-such-plan")
    assert result.returncode == 2
    assert "no plan 'no-such-plan'" in result.stderr


def test_a_batch_creates_each_order_once_and_says_what_it_skipped(
    session: Session, clock: FixedClock
) -> None:
    plan = make_plan(session)
    due = active_sub(session, plan, taipei(2027, 1, 10))
    card = active_sub(
        session, plan, taipei(2027, 1, 10), payment_method="credit_card",
        period_agreement_no="FXAGREEMENT02",
    )
    cancelled = active_sub(session, plan, taipei(2027, 1, 10), status="cancelled")
    moved_on = active_sub(session, plan, taipei(2027, 1, 10))
    session.commit()
    period_start = taipei(2027, 2, 10)
    batch = [DueRenewal(sub.id, period_start) for sub in (due, card, cancelled)]
    batch.append(DueRenewal(moved_on.id, taipei(2027, 3, 10)))  # not this sub's period
    batch.append(DueRenewal(uuid.uuid4(), period_start))  # no such subscription

    jobs = RecordingJobs()
    first = renewals.renew_due(session, clock, jobs, batch, dashboard_url="https://app.example.tw")
    session.commit()
    again = renewals.renew_due(session, clock, jobs, batch, dashboard_url="https://app.example.tw")
    session.commit()

    assert first.as_dict() == {"created": 2, "exists": 0, "skipped": 3}
    assert again.as_dict() == {"created": 0, "exists": 2, "skipped": 3}
    assert first.reasons == {"not_renewable": 1, "moved_on": 1, "not_found": 1}
    [atm_order] = renewal_orders(session, due)
    assert len(renewal_orders(session, card)) == 1
    assert renewal_orders(session, cancelled) == renewal_orders(session, moved_on) == []
    # One payment link, for the ATM order only (ECPay charges the card agreement itself).
    [delivery] = session.scalars(select(EmailDelivery)).all()
    assert delivery.event_key == f"renewal_payment_link:{atm_order.id}"
    assert jobs.pending == [("send_email", (str(delivery.id),), f"email-{delivery.id}")]
    audited = session.scalars(
        select(AuditLog.resource_id).where(AuditLog.action == "renewal_order_created")
    ).all()
    assert sorted(audited) == sorted(str(o.id) for o in session.scalars(select(Order)))


def test_a_renewer_run_twice_before_the_workers_enqueues_each_batch_once(
    session: Session, wsettings: Settings
) -> None:
    plan = make_plan(session)
    for day in range(1, 8):
        active_sub(session, plan, taipei(2027, 1, day))
    session.commit()
    now = FixedClock(taipei(2027, 1, 31))

    lead = timedelta(days=9)
    runs = [renew_plan(wsettings, now, plan.slug, batch_size=3, lead=lead) for _ in "ab"]

    assert runs == [(7, 3), (7, 3)]
    assert queue(RENEWALS, redis_connection(wsettings)).count == 3
    run_burst(wsettings)
    assert session.scalar(select(func.count()).select_from(Order)) == 7
    assert session.scalar(select(func.count()).select_from(EmailDelivery)) == 7


def test_renewal_batches_also_run_on_the_development_database(
    tmp_path: Path, settings: Settings, clock: FixedClock
) -> None:
    """`fluxus dev` keeps its data in SQLite; the batch's upserts must work there too."""
    url = f"sqlite:///{tmp_path / 'dev.db'}"
    migrate.upgrade(url)
    engine = make_engine(url, settings)
    try:
        with Session(engine) as dev:
            plan = make_plan(dev)
            subs = [active_sub(dev, plan, taipei(2027, 1, 10)) for _ in range(3)]
            dev.commit()
            batch = [DueRenewal(sub.id, taipei(2027, 2, 10)) for sub in subs]
            jobs = RecordingJobs()
            counts = [
                renewals.renew_due(dev, clock, jobs, batch, dashboard_url="http://localhost")
                for _ in "ab"
            ]
            dev.commit()
            orders = dev.scalar(select(func.count()).select_from(Order))
            deliveries = dev.scalar(select(func.count()).select_from(EmailDelivery))
    finally:
        engine.dispose()

    assert [c.as_dict() for c in counts] == [
        {"created": 3, "exists": 0, "skipped": 0},
        {"created": 0, "exists": 3, "skipped": 0},
    ]
    # The three payment links go out as one batch job, not one RQ job each.
    assert (orders, deliveries, [job[0] for job in jobs.pending]) == (3, 3, ["send_emails"])
    assert len(jobs.pending[0][1][0]) == 3
