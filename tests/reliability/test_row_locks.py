"""Two requests or jobs at once, for real: each in its own connection, the second one shown
to be waiting on the first one's row lock (PostgreSQL says so) before the first commits."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from services.core.clock import FixedClock, SystemClock
from services.core.config import Settings
from services.core.db.models import Subscription, User
from services.core.db.session import session_factory
from services.core.errors import Conflict
from services.core.ports import RecordingJobs
from services.core.usecases import credits, subscriptions
from services.core.usecases.audit import SYSTEM
from services.core.usecases.email_delivery import deliver_email
from services.core.usecases.emails import queue_email
from services.worker.mailer import SmtpMailer
from tests.support.factories import make_order, make_plan, make_subscription, make_user
from tests.support.smtp import smtp_server
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


def _someone_waits_for_a_row_lock(engine: Engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database()")).scalar())


def _race(engine: Engine, first: Callable[[Session], Any],
          second: Callable[[Session], Any]) -> tuple[Any, Any]:
    """`first` does its work and holds its transaction open until `second` is seen blocked
    on a lock; then `first` commits and `second` goes on. Returns both results (or errors)."""
    results: dict[str, Any] = {}
    first_did_its_work = threading.Event()
    second_is_blocked = threading.Event()

    def run_first() -> None:
        with session_factory(engine)() as session:
            results["first"] = first(session)
            first_did_its_work.set()
            second_is_blocked.wait(30)
            session.commit()

    def run_second() -> None:
        first_did_its_work.wait(30)
        with session_factory(engine)() as session:
            try:
                results["second"] = second(session)
                session.commit()
            except Conflict as exc:
                results["second"] = exc

    threads = [threading.Thread(target=run_first), threading.Thread(target=run_second)]
    for thread in threads:
        thread.start()
    wait_for(lambda: _someone_waits_for_a_row_lock(engine), "the second one to wait", 20)
    second_is_blocked.set()
    for thread in threads:
        thread.join(30)
    return results["first"], results["second"]


def test_two_subscribe_requests_at_once_make_one_subscription(engine: Engine) -> None:
    with session_factory(engine)() as session:
        user_id = make_user(session).id
        plan_id = make_plan(session, trial_days=14).id
        session.commit()
    clock = FixedClock(SystemClock().now())

    def subscribe(session: Session) -> Subscription:
        user = session.get_one(User, user_id)
        return subscriptions.subscribe(session, clock, SYSTEM, user, plan_id=plan_id)

    first, second = _race(engine, subscribe, subscribe)
    assert first.status == "trial"
    assert isinstance(second, Conflict) and second.code == "already_subscribed"
    with session_factory(engine)() as session:
        assert len(session.scalars(select(Subscription)).all()) == 1


class _CountingMailer:
    def __init__(self, real: SmtpMailer) -> None:
        self.real, self.sent = real, 0

    def send(self, message: EmailMessage) -> None:
        self.sent += 1
        self.real.send(message)


def test_two_workers_sending_one_email_at_once_send_it_once(
    engine: Engine, settings: Settings
) -> None:
    with smtp_server() as (inbox, port):
        mail_settings = dataclasses.replace(settings, smtp_host="127.0.0.1", smtp_port=port)
        with session_factory(engine)() as session:
            user = make_user(session)
            delivery_id = queue_email(session, RecordingJobs(), template="welcome", user=user,
                                      event_key=f"welcome:{user.id}")
            session.commit()
        mailers = [_CountingMailer(SmtpMailer(mail_settings)) for _ in range(2)]

        def deliver(mailer: _CountingMailer) -> Callable[[Session], Any]:
            return lambda session: deliver_email(session, SystemClock(), mailer, mail_settings,
                                                 delivery_id=delivery_id).status

        first, second = _race(engine, deliver(mailers[0]), deliver(mailers[1]))
        assert (first, second) == ("sent", "already_sent")
        assert [m.sent for m in mailers] == [1, 0]
        wait_for(lambda: len(inbox.messages) == 1, "the one message", 10)


def test_two_checkouts_of_one_customer_using_credit_do_not_deadlock(engine: Engine) -> None:
    """Each order insert holds a key-share lock on the customer (its foreign key); taking the
    customer's credit must then queue behind the other checkout, not deadlock with it."""
    with session_factory(engine)() as session:
        user = make_user(session)
        plan = make_plan(session)
        subs = [make_subscription(session, user, plan).id for _ in range(2)]
        user_id = user.id
        session.commit()
    sessions = [session_factory(engine)() for _ in range(2)]
    for session, sub_id in zip(sessions, subs, strict=True):
        make_order(session, session.get_one(Subscription, sub_id))  # inserted, not committed
    errors: list[BaseException] = []
    first_locked = threading.Event()

    def take_credit(session: Session, then_wait: bool) -> None:
        try:
            credits._lock_customer(session, user_id)
            if then_wait:
                first_locked.set()
                wait_for(lambda: _someone_waits_for_a_row_lock(engine), "the other one", 20)
            session.commit()
        except Exception as exc:  # a deadlock must fail the test, not just its thread
            errors.append(exc)
            first_locked.set()
        finally:
            session.close()

    first = threading.Thread(target=take_credit, args=(sessions[0], True))
    first.start()
    first_locked.wait(20)
    second = threading.Thread(target=take_credit, args=(sessions[1], False))
    second.start()
    for thread in (first, second):
        thread.join(30)
    assert errors == []
