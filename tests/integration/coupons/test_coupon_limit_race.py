"""The redemption limit holds when two customers redeem the last use at the same moment: each
checkout in its own connection, the second shown waiting on the coupon's row lock (PostgreSQL
says so) until the first commits, then refused with coupon_exhausted."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.db.models import Coupon, User
from services.core.db.session import session_factory
from services.core.errors import FluxusError
from services.core.usecases import subscriptions
from services.core.usecases.audit import SYSTEM
from services.core.usecases.books import audit_books
from tests.integration.coupons.conftest import NOW
from tests.support.factories import make_plan, make_user
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


def _someone_waits_for_a_lock(engine: Engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database()")).scalar())


def _race(engine: Engine, first: Callable[[Session], Any],
          second: Callable[[Session], Any]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    first_did_its_work, second_is_blocked = threading.Event(), threading.Event()

    def run(name: str, work: Callable[[Session], Any]) -> None:
        if name == "second":
            first_did_its_work.wait(30)
        with session_factory(engine)() as session:
            try:
                results[name] = work(session)
                if name == "first":
                    first_did_its_work.set()
                    second_is_blocked.wait(30)
                session.commit()
            except FluxusError as exc:
                results[name] = exc

    threads = [threading.Thread(target=run, args=("first", first)),
               threading.Thread(target=run, args=("second", second))]
    for thread in threads:
        thread.start()
    wait_for(lambda: _someone_waits_for_a_lock(engine), "the second one to wait", 20)
    second_is_blocked.set()
    for thread in threads:
        thread.join(30)
    return results


def test_two_redemptions_of_the_last_use_at_once_make_one(engine: Engine) -> None:
    with session_factory(engine)() as session:
        ann, bob = make_user(session).id, make_user(session).id
        plan_id = make_plan(session, price=Decimal(990)).id
        session.add(Coupon(code="LAST1", kind="percent", percent_off=50, duration="once",
                           max_redemptions=1, times_redeemed=0, plan_ids=[]))
        session.commit()
    clock = FixedClock(NOW)

    def subscribe_with_code(user_id: uuid.UUID) -> Callable[[Session], Any]:
        def work(session: Session) -> Any:
            user = session.get_one(User, user_id)
            return subscriptions.subscribe(session, clock, SYSTEM, user, plan_id=plan_id,
                                           coupon_code="LAST1").id
        return work

    results = _race(engine, subscribe_with_code(ann), subscribe_with_code(bob))
    assert isinstance(results["first"], uuid.UUID)
    refused = results["second"]
    assert isinstance(refused, FluxusError) and refused.code == "coupon_exhausted"
    with session_factory(engine)() as session:
        coupon = session.scalars(select(Coupon).where(Coupon.code == "LAST1")).one()
        assert coupon.times_redeemed == 1
        assert audit_books(session, clock).clean
