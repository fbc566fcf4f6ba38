"""MRR movements: each subscription change books new, expansion, contraction, churn
(voluntary or delinquent) or reactivation in NT$ excluding tax, yearly ÷12, trials excluded;
over a generated history every month reconciles (starting + movements = ending) and each
month's ending equals the MRR of the subscriptions as they stood."""

from __future__ import annotations

import csv
import io
import os
import random
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from services.api.app import create_app
from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import MrrMovement, Plan, Subscription, User
from services.core.db.session import dispose_engines, session_factory
from services.core.domain.periods import TAIPEI
from services.core.ports import RecordingJobs
from services.core.usecases import auth_passwords, lifecycle, mrr, subscriptions
from services.core.usecases.audit import Actor
from services.core.usecases.webhooks import events
from tests.integration.api.api_helpers import assert_envelope, create_account, log_in
from tests.support.factories import make_plan, make_user
from tests.support.waiting import wait_for

START = datetime(2026, 1, 1, 4, 0, tzinfo=UTC)
MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}


class World:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.clock = FixedClock(START)
        self.staff = make_user(session, is_staff=True)
        self.plans = [make_plan(session, price=p, billing_cycle=c) for p, c in (
            (990, "monthly"), (1990, "monthly"), (9900, "yearly"), (2700, "quarterly"))]
        session.commit()

    def status(self, sub: Subscription, status: str) -> None:
        subscriptions.change_status(self.session, self.clock, RecordingJobs(),
                                    Actor(user_id=self.staff.id, is_staff=True), self.staff,
                                    sub.id, status=status)
        self.session.commit()

    def subscribe(self, customer: User, plan: Plan, status: str = "active") -> Subscription:
        sub = Subscription(user_id=customer.id, plan_id=plan.id, status="pending")
        self.session.add(sub)
        self.session.commit()
        self.status(sub, status)
        return sub

    def change_plan(self, sub: Subscription, plan: Plan) -> None:
        # What the plan-change code will do: switch the plan, then report the change.
        sub.plan_id = plan.id
        events.subscription_changed(self.session, self.clock.now(), sub, sub.status,
                                    event_type="subscription.plan_changed")
        self.session.commit()

    def moves(self, customer: User) -> list[tuple[str, str, Decimal]]:
        return [(m.kind, m.reason, m.amount_twd) for m in self.session.scalars(
            select(MrrMovement).where(MrrMovement.customer_id == customer.id)
            .order_by(MrrMovement.occurred_at, MrrMovement.created_at))]


@pytest.fixture
def world(session: Session) -> World:
    return World(session)


def expected_monthly(price: int, cycle: str) -> Decimal:
    return (Decimal(price) * 100 / 105 / MONTHS[cycle]).quantize(Decimal("0.01"),
                                                                  ROUND_HALF_UP)


def test_each_kind_of_movement_in_ntd_excluding_tax(world: World) -> None:
    monthly, bigger, yearly, _quarterly = world.plans
    alice = make_user(world.session)
    trial = world.subscribe(alice, monthly, status="trial")
    assert world.moves(alice) == []  # trials are excluded
    world.clock.set(START + timedelta(days=14))
    world.status(trial, "active")
    world.change_plan(trial, bigger)
    world.change_plan(trial, monthly)
    second = world.subscribe(alice, yearly)
    world.status(second, "cancelled")  # one of two: a contraction, not churn
    world.status(trial, "past_due")  # past due still counts
    world.status(trial, "expired")
    world.clock.set(START + timedelta(days=60))
    world.subscribe(alice, yearly)
    back = world.session.scalars(select(Subscription).where(
        Subscription.user_id == alice.id, Subscription.status == "active")).one()
    world.status(back, "cancelled")
    m990, m1990, y9900 = (Decimal("942.86"), Decimal("1895.24"), Decimal("785.71"))
    assert expected_monthly(990, "monthly") == m990
    assert expected_monthly(9900, "yearly") == y9900
    assert world.moves(alice) == [
        ("new", "", m990), ("expansion", "", m1990 - m990), ("contraction", "", m990 - m1990),
        ("expansion", "", y9900), ("contraction", "", -y9900),
        ("churn", "delinquent", -m990), ("reactivation", "", y9900),
        ("churn", "voluntary", -y9900),
    ]


def test_a_trial_that_ends_unpaid_is_no_revenue_while_it_waits_nor_churn_when_it_lapses(
    world: World,
) -> None:
    monthly = make_plan(world.session, price=990, trial_days=14)
    bob = make_user(world.session)
    sub = subscriptions.subscribe(world.session, world.clock, Actor(user_id=bob.id), bob,
                                  plan_id=monthly.id, auto_renew=True)
    world.session.commit()
    assert sub.status == "trial"
    world.clock.set(sub.trial_end_date + timedelta(hours=1))
    lifecycle.end_trials(world.session, world.clock, RecordingJobs())
    world.session.commit()
    assert world.session.get_one(Subscription, sub.id).status == "past_due"  # waits to be paid
    world.clock.set(sub.trial_end_date + timedelta(days=monthly.grace_days + 1))
    lifecycle.run_dunning(world.session, world.clock, RecordingJobs(), "http://dashboard")
    world.session.commit()
    assert world.session.get_one(Subscription, sub.id).status == "expired"
    assert world.moves(bob) == []


def _month_key(moment: datetime) -> str:
    return moment.astimezone(TAIPEI).strftime("%Y-%m")


@pytest.mark.parametrize("seed", [7, 2026])
def test_every_month_of_a_generated_history_reconciles(world: World, seed: int) -> None:
    rng = random.Random(seed)
    customers = [make_user(world.session) for _ in range(8)]
    world.session.commit()
    truth: dict[str, Decimal] = {}  # month -> MRR of the subscriptions at its end

    def mrr_now() -> Decimal:
        rows = world.session.execute(
            select(Plan.price, Plan.billing_cycle).join(Subscription,
                                                        Subscription.plan_id == Plan.id)
            .where(Subscription.status.in_(("active", "past_due")))).all()
        return sum((expected_monthly(int(p), c) for p, c in rows), Decimal("0.00"))

    for _step in range(160):
        before = world.clock.now()
        world.clock.set(before + timedelta(hours=rng.randint(1, 90)))
        if _month_key(world.clock.now()) != _month_key(before):
            truth[_month_key(before)] = mrr_now()
        customer = rng.choice(customers)
        live = world.session.scalars(select(Subscription).where(
            Subscription.user_id == customer.id,
            Subscription.status.in_(("trial", "active", "past_due")))).all()
        action = rng.choice(["subscribe", "subscribe", "plan", "status", "status", "status"])
        if action == "subscribe" or not live:
            world.subscribe(customer, rng.choice(world.plans),
                            status=rng.choice(["active", "active", "trial"]))
        elif action == "plan":
            world.change_plan(rng.choice(live), rng.choice(world.plans))
        else:
            sub = rng.choice(live)
            nxt = {"trial": ["active", "cancelled", "expired"],
                   "active": ["past_due", "cancelled", "expired"],
                   "past_due": ["active", "expired", "cancelled"]}[sub.status]
            world.status(sub, rng.choice(nxt))
    truth[_month_key(world.clock.now())] = mrr_now()

    first, last = START.date(), world.clock.now().date()
    rows = mrr.report(world.session, first, last)
    assert [r.month for r in rows] == sorted(truth)
    kinds = {m.kind for m in world.session.scalars(select(MrrMovement))}
    assert {"new", "expansion", "contraction", "churn", "reactivation"} <= kinds
    previous = Decimal("0.00")
    for row in rows:
        assert row.starting == previous, row.month
        moved = (row.new + row.expansion + row.reactivation - row.contraction
                 - row.churn_voluntary - row.churn_delinquent)
        assert row.starting + moved == row.ending, row.month
        assert row.ending == truth[row.month], row.month
        previous = row.ending
    assert mrr.current(world.session) == mrr_now()


@pytest.fixture
def client(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[FlaskClient]:
    monkeypatch.setattr(auth_passwords, "BCRYPT_ROUNDS", 4)
    app = create_app(settings)
    app.testing = True
    yield app.test_client()
    dispose_engines()


def test_staff_read_the_report_as_json_and_csv_and_customers_cannot(
        world: World, client: FlaskClient) -> None:
    monthly, _b, yearly, _q = world.plans
    customer = make_user(world.session)
    world.subscribe(customer, monthly)
    world.clock.set(START + timedelta(days=40))
    world.subscribe(customer, yearly)
    admin = log_in(client, create_account(world.session, is_staff=True))
    query = "?from=2026-01-01&to=2026-03-31"
    body = client.get(f"/api/reports/mrr/{query}", headers=admin.headers).get_json()
    assert [m["month"] for m in body["months"]] == ["2026-01", "2026-02", "2026-03"]
    assert body["months"][0]["new"] == "942.86" and body["months"][0]["ending"] == "942.86"
    assert body["months"][1]["expansion"] == "785.71"
    assert body["months"][2]["starting"] == body["months"][2]["ending"] == "1728.57"
    exported = client.get(f"/api/reports/mrr/export/{query}", headers=admin.headers)
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    table = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert [r["ending"] for r in table] == ["942.86", "1728.57", "1728.57"]
    assert_envelope(client.get("/api/reports/mrr/?from=2026-03-01&to=2026-01-01",
                               headers=admin.headers), 422)
    other = log_in(client, create_account(world.session, username=f"c{uuid.uuid4().hex[:6]}"))
    assert_envelope(client.get(f"/api/reports/mrr/{query}", headers=other.headers), 403)


def _fluxus(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUXUS_")}
    env.update(FLUXUS_ENV="development", FLUXUS_DATABASE_URL=settings.database_url,
               FLUXUS_REDIS_URL=settings.redis_url)
    return subprocess.run([str(Path(sys.executable).parent / "fluxus"), *args],
                          env=env, capture_output=True, text=True, timeout=120, check=False)


def test_reconcile_books_subscriptions_paying_before_mrr_was_booked(
        world: World, settings: Settings) -> None:
    monthly, _b, yearly, _q = world.plans
    before = make_user(world.session)
    for plan in (monthly, yearly):  # paying before this version: no movements
        world.session.add(Subscription(user_id=before.id, plan_id=plan.id, status="active"))
    world.session.commit()
    done = _fluxus(settings, "mrr", "reconcile")
    assert done.returncode == 0, done.stderr
    assert "1 movements booked" in done.stdout
    world.session.expire_all()
    assert world.moves(before) == [("new", "reconciled", Decimal("1728.57"))]
    again = _fluxus(settings, "mrr", "reconcile")
    assert "0 movements booked" in again.stdout
    today = datetime.now(UTC).astimezone(TAIPEI).date().isoformat()
    exported = _fluxus(settings, "mrr", "report", "--from", today, "--to", today)
    [row] = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert (row["new"], row["ending"]) == ("1728.57", "1728.57")


def test_two_changes_of_one_customer_at_once_book_one_after_the_other(
        world: World, engine: Engine) -> None:
    monthly, _b, yearly, _q = world.plans
    customer = make_user(world.session)
    first, second = (Subscription(user_id=customer.id, plan_id=p.id, status="pending")
                     for p in (monthly, yearly))
    world.session.add_all([first, second])
    world.session.commit()
    staff = world.staff

    def activate(session: Session, sub_id: uuid.UUID) -> None:
        subscriptions.change_status(session, world.clock, RecordingJobs(),
                                    Actor(user_id=staff.id, is_staff=True),
                                    session.get_one(User, staff.id), sub_id, status="active")

    holder = session_factory(engine)()
    activate(holder, first.id)  # booked, not committed: it holds the customer's booking
    done = threading.Event()

    def other() -> None:
        with session_factory(engine)() as session:
            activate(session, second.id)
            session.commit()
        done.set()

    thread = threading.Thread(target=other)
    thread.start()
    waiting = text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        " AND classid = :space AND database ="
        " (SELECT oid FROM pg_database WHERE datname = current_database())")
    wait_for(lambda: world.session.scalar(waiting, {"space": mrr.LOCK_SPACE}),
             "the second booking to wait for the first")
    assert not done.is_set()
    holder.commit()
    holder.close()
    thread.join(30)
    assert done.is_set()
    world.session.expire_all()
    assert world.moves(customer) == [("new", "", Decimal("942.86")),
                                     ("expansion", "", Decimal("785.71"))]
