"""New accepted notifications are stored and rung for, and one drain job takes them from the
table: each applied exactly once, however many posts arrive, however many drains run, and a
notification that fails leaves the others alone and retries on its own."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import ScheduledJobRegistry
from sqlalchemy import Engine, event, select, text
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import Invoice, PaymentNotification
from services.core.db.session import session_factory
from services.core.ports import RecordingJobs
from services.core.usecases.payment_notifications import DRAIN_JOB, Kind, receive_notification
from services.core.usecases.payment_processing import claim_next_new
from services.worker import context
from services.worker.jobs.payments import drain_notifications
from services.worker.queues import RQJobs, answer_doorbell
from tests.integration.payment.conftest import (
    NOW,
    STAGE,
    Served,
    World,
    notifications,
    queued_jobs,
    return_fields,
    seed,
    totals,
)

pytestmark = pytest.mark.integration

CALLBACK = "/payment/ecpay/callback/"


def _trade_no(i: int) -> str:
    return f"26112612{i:08d}"


def _store(engine: Engine, worlds: list[World]) -> None:
    """The notifications as the webhook stores them, without ringing."""
    with session_factory(engine)() as session, session.begin():
        for i, world in enumerate(worlds):
            receipt = receive_notification(
                session, FixedClock(NOW), RecordingJobs(), kind=Kind.RETURN,
                form=return_fields(world, trade_no=_trade_no(i)), credentials=STAGE,
            )
            assert receipt.verdict == "accepted", receipt


@pytest.fixture
def in_worker(settings: Settings) -> Iterator[None]:
    context.use(settings, None)
    yield
    context.use(None, None)


def test_a_burst_of_posts_queues_one_drain_that_completes_every_order_once(
    payment: Served, engine: Engine, session: Session, redis: Redis,
    worker: Callable[..., None],
) -> None:
    worlds = [seed(engine) for _ in range(12)]

    def post(i: int) -> httpx.Response:
        form = return_fields(worlds[i], trade_no=_trade_no(i))
        return httpx.post(payment.url + CALLBACK, data=form, timeout=30)

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(post, range(len(worlds))))

    assert [a.text for a in answers] == ["1|OK"] * len(worlds)
    assert queued_jobs(redis, "payments") == ["drain_notifications"]

    worker()

    assert [totals(session, w) for w in worlds] == [(1, 1, 1)] * len(worlds)
    assert {(n.attempts, n.processed_at is not None) for n in notifications(session)} == {
        (1, True)}
    # A repeat of an applied notification is acknowledged and asks for nothing.
    assert post(3).text == "1|OK"
    assert queued_jobs(redis, "payments") == []


def test_the_doorbell_queues_one_drain_until_that_drain_starts(redis: Redis) -> None:
    def ring() -> None:
        jobs = RQJobs(redis)
        jobs.enqueue(DRAIN_JOB)
        jobs.enqueue(DRAIN_JOB)
        jobs.flush()

    ring()
    ring()
    assert queued_jobs(redis, "payments") == ["drain_notifications"]

    answer_doorbell(redis, DRAIN_JOB)  # the drain started: what is stored now is not seen
    ring()
    assert queued_jobs(redis, "payments") == ["drain_notifications"] * 2

    with pytest.raises(ValueError, match="coalesced"):
        RQJobs(redis).enqueue(DRAIN_JOB, "an argument")


def test_two_drains_at_once_share_the_backlog_and_apply_each_notification_once(
    engine: Engine, session: Session, redis: Redis, in_worker: None,
) -> None:
    worlds = [seed(engine) for _ in range(24)]
    _store(engine, worlds)
    start = threading.Barrier(2)
    drained: list[dict[str, list[list[object]]]] = []

    def drain() -> None:
        start.wait()
        drained.append(drain_notifications())

    threads = [threading.Thread(target=drain) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert len(drained) == 2
    assert sum(len(d["applied"]) for d in drained) == len(worlds)
    assert [totals(session, w) for w in worlds] == [(1, 1, 1)] * len(worlds)
    numbers = sorted(session.scalars(select(Invoice.invoice_number)))
    assert len(set(numbers)) == len(worlds)  # one invoice each, no number twice


def test_a_notification_failing_in_the_drain_retries_alone_and_the_others_complete(
    engine: Engine, session: Session, settings: Settings, redis: Redis,
    worker: Callable[..., None],
) -> None:
    worlds = [seed(engine) for _ in range(3)]
    broken = worlds[1]
    _store(engine, worlds)
    # A real failure inside the payment's transaction: PostgreSQL refuses its invoice.
    with engine.begin() as db:
        db.execute(text(f"""
            CREATE FUNCTION refuse_invoice() RETURNS trigger AS $$ BEGIN
              IF NEW.order_id = '{broken.order_id}' THEN
                RAISE EXCEPTION 'invoice refused for the test'; END IF;
              RETURN NEW; END $$ LANGUAGE plpgsql;
            CREATE TRIGGER refuse_invoice BEFORE INSERT ON invoices
              FOR EACH ROW EXECUTE FUNCTION refuse_invoice();"""))
    jobs = RQJobs(redis)
    jobs.enqueue(DRAIN_JOB)
    jobs.flush()

    worker()  # the drain, then the failed one's own job (which fails again: still refused)

    assert [totals(session, w) for w in worlds] == [(1, 1, 1), (0, 0, 0), (1, 1, 1)]
    [failed] = [n for n in notifications(session) if n.order_id == broken.order_id]
    assert failed.processed_at is None
    assert failed.attempts == 2  # once in the drain, once in its own job
    assert "invoice refused for the test" in (failed.last_error or "")

    session.rollback()  # its reads would hold the lock DROP TRIGGER waits for
    with engine.begin() as db:
        db.execute(text("DROP TRIGGER refuse_invoice ON invoices; DROP FUNCTION refuse_invoice();"))
    # Its own job waits out its back-off in RQ's scheduled registry; when it is due, RQ's
    # scheduler puts it back on the queue, as done here.
    retry = Job.fetch(f"notification-{failed.id}", connection=redis)
    assert retry.get_status() == "scheduled"
    assert retry.id in ScheduledJobRegistry("payments", connection=redis).get_job_ids()
    Queue("payments", connection=redis).enqueue_job(retry)
    worker()

    assert totals(session, broken) == (1, 1, 1)
    assert session.get_one(PaymentNotification, failed.id).attempts == 3


def test_a_drain_leaves_alone_what_another_transaction_holds(
    engine: Engine, session: Session, in_worker: None,
) -> None:
    worlds = [seed(engine) for _ in range(2)]
    _store(engine, worlds)
    first = notifications(session)[0]
    with session_factory(engine)() as holder, holder.begin():
        holder.scalars(select(PaymentNotification).where(PaymentNotification.id == first.id)
                       .with_for_update()).one()

        applied = drain_notifications()["applied"]

    assert len(applied) == 1  # the held one was skipped, not waited for
    assert [totals(session, w) for w in worlds] == [(0, 0, 0), (1, 1, 1)]
    assert len(drain_notifications()["applied"]) == 1  # released: the next drain takes it
    assert [totals(session, w) for w in worlds] == [(1, 1, 1), (1, 1, 1)]


def test_a_drain_claims_from_its_index_however_long_the_backlog(engine: Engine) -> None:
    # Each claim takes the oldest untried notification. Sorting the whole backlog instead
    # made every claim slower the more ECPay had sent; the partial index keeps it one step.
    _store(engine, [seed(engine) for _ in range(3)])
    sent: list[tuple[str, Any]] = []

    def remember(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    with session_factory(engine)() as claimer, claimer.begin():
        event.listen(engine, "before_cursor_execute", remember)
        try:
            assert claim_next_new(claimer) is not None
        finally:
            event.remove(engine, "before_cursor_execute", remember)
        statement, parameters = sent[-1]
        claimer.execute(text("SET LOCAL enable_seqscan = off"))  # as on a table of millions
        plan = claimer.connection().exec_driver_sql("EXPLAIN " + statement, parameters).all()
    assert "ix_payment_notifications_untried" in " ".join(row[0] for row in plan)
