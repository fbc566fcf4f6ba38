"""Card refunds against the simulator process: full (E then N) and partial (R) refunds, the
e-invoice voided or given an allowance, over-refunds refused (also two staff at once), the
capture window waited out, ECPay failing then the retry succeeding, a lost answer recovered,
idempotent retries — and `fluxus audit books` clean after each."""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import Engine, select

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import EInvoiceAllowance, EmailDelivery, Subscription, User
from services.core.db.session import session_factory
from services.core.errors import Conflict
from services.core.usecases.audit import Actor
from services.core.usecases.refunds import requests
from services.ecpay.credit_detail import TAIPEI
from services.worker import context
from services.worker.queues import RQJobs
from tests.integration.refunds.refund_support import (
    ask,
    books_findings,
    card_record,
    einvoice_row,
    order_row,
    paid_order,
    refund_row,
    run_jobs,
    sim_fault,
    sim_to_next_morning,
    staff_user,
)
from tests.support.workers import BurstWorker

pytestmark = pytest.mark.integration


def test_a_full_card_refund_the_same_day_undoes_the_capture_drops_it_and_voids_the_einvoice(
    engine: Engine, app_settings: Settings, sim: str, now: datetime
) -> None:
    world = paid_order(engine, app_settings, sim, now)
    staff = staff_user(engine)
    placed = ask(engine, now, staff, world.order_id, 1000, cancel="now")
    assert placed.refund.status == "requested" and placed.refund.method == "card"
    assert run_jobs(app_settings, now, placed.refund.id) == "succeeded"
    refund = refund_row(engine, placed.refund.id)
    assert refund.status == "succeeded" and refund.completed_at == now
    assert [c["action"] for c in refund.gateway_actions["calls"]] == ["E", "N"]
    assert card_record(sim, world.order_number)["status"] == "已放棄"
    assert order_row(engine, world.order_id).status == "refunded"
    einvoice = einvoice_row(engine, world.order_id)
    assert einvoice.status == "voided"
    assert refund.einvoice_status == "done" and refund.einvoice_result["correction"] == "void"
    with session_factory(engine)() as session:
        assert session.get_one(Subscription, world.subscription_id).status == "cancelled"
        mail = session.scalars(select(EmailDelivery).where(
            EmailDelivery.event_key == f"refund:{refund.id}")).one()
        assert mail.template == "refund_issued" and mail.context["refund_amount"] == "1000"
    assert books_findings(engine, now) == []


def test_partial_refunds_go_back_by_r_with_allowances_until_nothing_is_left(
    engine: Engine, app_settings: Settings, sim: str, now: datetime
) -> None:
    world = paid_order(engine, app_settings, sim, now)
    staff = staff_user(engine)
    first = ask(engine, now, staff, world.order_id, 300).refund
    assert run_jobs(app_settings, now, first.id) == "succeeded"
    assert card_record(sim, world.order_number)["refunded"] == 300
    assert order_row(engine, world.order_id).status == "completed"
    assert einvoice_row(engine, world.order_id).remaining_allowance == 700
    assert refund_row(engine, first.id).einvoice_result["correction"] == "allowance"
    assert books_findings(engine, now) == []
    # The next day the batch has captured the rest; the remaining 700 goes back by R too.
    later = now + timedelta(days=1)
    sim_to_next_morning(sim)
    with pytest.raises(Conflict) as refused:
        ask(engine, later, staff, world.order_id, 701)
    assert refused.value.code == "refund_exceeds_paid"
    # Nothing paid is left, so the subscription ends now (kept live, books would list an
    # active subscription that no paid order pays for).
    rest = ask(engine, later, staff, world.order_id, 700, cancel="now").refund
    assert run_jobs(app_settings, later, rest.id) == "succeeded"
    record = card_record(sim, world.order_number)
    assert (record["status"], record["refunded"], record["clsamt"]) == ("已關帳", 1000, "0")
    assert order_row(engine, world.order_id).status == "refunded"
    with session_factory(engine)() as session:
        allowances = session.scalars(select(EInvoiceAllowance.amount).where(
            EInvoiceAllowance.request_key.like("refund:%"))).all()
    assert sorted(allowances) == [300, 700]
    assert books_findings(engine, later) == []


def test_two_staff_refunding_at_once_cannot_refund_more_than_was_paid(
    engine: Engine, app_settings: Settings, sim: str, now: datetime
) -> None:
    world = paid_order(engine, app_settings, sim, now)
    staff = [staff_user(engine), staff_user(engine)]
    start = threading.Barrier(2)
    results: list[object] = []

    def refund(who: int) -> None:
        start.wait()
        try:
            results.append(ask(engine, now, staff[who], world.order_id, 600).refund.id)
        except Conflict as exc:
            results.append(exc.code)

    threads = [threading.Thread(target=refund, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(map(str, results))[-1] == "refund_exceeds_paid"
    [accepted] = [r for r in results if r != "refund_exceeds_paid"]
    assert run_jobs(app_settings, now, accepted) == "succeeded"  # type: ignore[arg-type]
    assert card_record(sim, world.order_number)["refunded"] == 600
    assert books_findings(engine, now) == []


def test_no_call_during_the_capture_window_then_it_goes_after(
    engine: Engine, app_settings: Settings, sim: str, now: datetime
) -> None:
    world = paid_order(engine, app_settings, sim, now)
    refund = ask(engine, now, staff_user(engine), world.order_id, 400).refund
    evening = now.astimezone(TAIPEI).replace(hour=20, minute=20).astimezone(now.tzinfo)
    assert run_jobs(app_settings, evening, refund.id) == "capture_window"
    waiting = refund_row(engine, refund.id)
    assert waiting.status == "requested" and waiting.attempts == 0
    assert waiting.next_attempt_at == evening.replace(minute=31)
    assert card_record(sim, world.order_number)["refunded"] == 0  # ECPay was not called
    assert books_findings(engine, evening) == []
    after = evening.replace(minute=31)
    assert run_jobs(app_settings, after, refund.id) == "succeeded"
    assert card_record(sim, world.order_number)["refunded"] == 400
    assert books_findings(engine, after) == []


def test_ecpay_down_then_the_retry_succeeds_and_a_lost_answer_is_not_refunded_twice(
    engine: Engine, app_settings: Settings, sim: str, now: datetime
) -> None:
    world = paid_order(engine, app_settings, sim, now)
    refund = ask(engine, now, staff_user(engine), world.order_id, 250).refund
    sim_fault(sim, "unavailable")
    assert run_jobs(app_settings, now, refund.id) == "retry"
    row = refund_row(engine, refund.id)
    assert row.status == "sent" and row.attempts == 1 and "HTTP 503" in row.last_error
    assert row.next_attempt_at == now + timedelta(seconds=60)
    assert run_jobs(app_settings, now, refund.id) == "not_due"  # the back-off holds
    # The second try reaches ECPay, which refunds, but the answer is lost on the way back.
    sim_fault(sim, "lose")
    retry_at = now + timedelta(seconds=60)
    assert run_jobs(app_settings, retry_at, refund.id) == "retry"
    assert card_record(sim, world.order_number)["refunded"] == 250
    third = now + timedelta(seconds=60 + 300)
    assert run_jobs(app_settings, third, refund.id) == "recovered"
    done = refund_row(engine, refund.id)
    assert done.status == "succeeded" and done.attempts == 3
    assert card_record(sim, world.order_number)["refunded"] == 250  # once, not twice
    assert books_findings(engine, third) == []


def test_ecpay_silent_for_days_after_a_lost_answer_never_fails_the_refund(
    engine: Engine, app_settings: Settings, sim: str, now: datetime
) -> None:
    """Found by the lifecycle model: ECPay refunded but its answer was lost, then stayed
    unreachable. After ten tries the refund used to be `failed` (its amount free to refund
    again) while ECPay had given the money back. Silence now keeps it in flight."""
    world = paid_order(engine, app_settings, sim, now)
    refund = ask(engine, now, staff_user(engine), world.order_id, 400).refund
    sim_fault(sim, "lose")
    assert run_jobs(app_settings, now, refund.id) == "retry"
    assert card_record(sim, world.order_number)["refunded"] == 400  # ECPay did it (R)
    unreachable = dataclasses.replace(app_settings, ecpay_gateway_url="http://127.0.0.1:9")
    at = now
    for _ in range(12):  # ECPay unreachable for days: QueryTrade gets no answer either
        at = refund_row(engine, refund.id).next_attempt_at
        assert run_jobs(unreachable, at, refund.id) == "retry"
    stuck = refund_row(engine, refund.id)
    assert stuck.status == "sent" and stuck.attempts == 13
    assert "check the trade in ECPay's vendor dashboard" in stuck.last_error
    assert stuck.next_attempt_at == at + timedelta(hours=2)
    [finding] = books_findings(engine, at + timedelta(days=1))
    assert finding.startswith("refund_failed_or_stuck") and "did not answer" in finding
    # Staff cannot refund the same money again while it is in flight.
    with pytest.raises(Conflict):
        ask(engine, at, staff_user(engine), world.order_id, 700)
    # ECPay answers again: QueryTrade shows the money back, nothing is sent twice.
    assert run_jobs(app_settings, stuck.next_attempt_at, refund.id) == "recovered"
    assert refund_row(engine, refund.id).status == "succeeded"
    assert card_record(sim, world.order_number)["refunded"] == 400  # once


def test_an_ecpay_refusal_is_kept_failed_with_its_message_and_books_show_it(
    engine: Engine, app_settings: Settings, sim: str, now: datetime
) -> None:
    world = paid_order(engine, app_settings, sim, now)
    refund = ask(engine, now, staff_user(engine), world.order_id, 100).refund
    sim_fault(sim, "refuse")
    assert run_jobs(app_settings, now, refund.id) == "failed"
    row = refund_row(engine, refund.id)
    assert row.status == "failed" and "系統維護中" in row.last_error
    assert order_row(engine, world.order_id).status == "completed"
    [finding] = books_findings(engine, now)
    assert finding.startswith("refund_failed_or_stuck") and "系統維護中" in finding
    # A failed refund does not count: staff can ask again for the whole amount.
    again = ask(engine, now, staff_user(engine), world.order_id, 1000, cancel="now").refund
    assert run_jobs(app_settings, now, again.id) == "succeeded"


def test_the_same_idempotency_key_gives_the_first_refund_and_another_body_is_refused(
    engine: Engine, app_settings: Settings, sim: str, now: datetime
) -> None:
    world = paid_order(engine, app_settings, sim, now)
    staff = staff_user(engine)
    first = ask(engine, now, staff, world.order_id, 200, key="k-1")
    again = ask(engine, now, staff, world.order_id, 200, key="k-1")
    assert first.created and not again.created and again.refund.id == first.refund.id
    with pytest.raises(Conflict) as reused:
        ask(engine, now, staff, world.order_id, 300, key="k-1")
    assert reused.value.code == "idempotency_key_reused"
    assert run_jobs(app_settings, now, first.refund.id) == "succeeded"
    assert run_jobs(app_settings, now, first.refund.id) == "not_pending"  # a duplicate job
    assert card_record(sim, world.order_number)["refunded"] == 200
    assert books_findings(engine, now) == []


def test_a_full_refund_after_the_filing_cutoff_is_an_allowance_not_a_void(
    engine: Engine, app_settings: Settings, sim: str, now: datetime
) -> None:
    world = paid_order(engine, app_settings, sim, now)
    refund = ask(engine, now, staff_user(engine), world.order_id, 1000, cancel="now").refund
    # Past the next odd month's 13th (the bi-monthly filing cut-off), even by our clock only.
    late = now + timedelta(days=75)
    assert run_jobs(app_settings, late.replace(hour=2), refund.id) == "succeeded"
    row = refund_row(engine, refund.id)
    assert row.einvoice_result["correction"] == "allowance"
    einvoice = einvoice_row(engine, world.order_id)
    assert einvoice.status == "issued" and einvoice.remaining_allowance == 0
    assert books_findings(engine, late) == []


def test_refunds_of_one_trade_go_oldest_first(
    engine: Engine, app_settings: Settings, sim: str, now: datetime
) -> None:
    world = paid_order(engine, app_settings, sim, now)
    staff = staff_user(engine)
    older = ask(engine, now, staff, world.order_id, 100).refund
    newer = ask(engine, now + timedelta(seconds=1), staff, world.order_id, 200).refund
    # The newer job runs first: it waits for the older one and calls nothing.
    assert run_jobs(app_settings, now + timedelta(seconds=1), newer.id) == "retry"
    assert card_record(sim, world.order_number)["refunded"] == 0
    waiting = refund_row(engine, newer.id)
    assert waiting.attempts == 0
    assert waiting.last_error == (
        f"waiting for the earlier refund {older.id} of the same payment to settle")
    assert run_jobs(app_settings, now + timedelta(seconds=2), older.id) == "succeeded"
    assert run_jobs(app_settings, now + timedelta(seconds=70), newer.id) == "succeeded"
    assert refund_row(engine, newer.id).last_error == ""  # no longer waiting
    assert card_record(sim, world.order_number)["refunded"] == 300
    assert books_findings(engine, now + timedelta(seconds=70)) == []


def test_a_refund_queued_behind_a_stuck_one_says_so_in_the_books(
    engine: Engine, app_settings: Settings, sim: str, now: datetime
) -> None:
    """Found by the lifecycle model: two halves refunded at the same instant while ECPay is
    down; the one that waits used to sit in flight with no reason a person could act on."""
    world = paid_order(engine, app_settings, sim, now)
    staff = staff_user(engine)
    first, second = (ask(engine, now, staff, world.order_id, 495).refund for _ in range(2))
    older, newer = sorted((first, second), key=lambda r: r.id)  # same instant: the id decides
    sim_fault(sim, "unavailable")
    assert run_jobs(app_settings, now, older.id) == "retry"
    assert run_jobs(app_settings, now, newer.id) == "retry"

    next_day = now + timedelta(days=1, hours=1)
    findings = books_findings(engine, next_day)
    assert len(findings) == 2
    assert any("HTTP 503" in f for f in findings)  # ECPay's answer on the first
    assert any(f"waiting for the earlier refund {older.id}" in f for f in findings)
    assert card_record(sim, world.order_number)["refunded"] == 0


def test_an_rq_worker_runs_the_queued_refund_and_then_its_einvoice_step(
    engine: Engine, app_settings: Settings, sim: str, now: datetime, redis_url: str
) -> None:
    """The jobs as registered: the refund's enqueue reaches the payments queue, a worker runs
    it, and the e-invoice step it asks for runs from the invoices queue."""
    world = paid_order(engine, app_settings, sim, now)
    staff = staff_user(engine)
    redis = Redis.from_url(redis_url)
    jobs = RQJobs(redis)
    with session_factory(engine)() as session:
        placed = requests.request_refund(
            session, FixedClock(now), jobs, Actor(user_id=staff.id, is_staff=True),
            session.get_one(User, staff.id), world.order_id, amount=Decimal(1000),
            reason="worker", cancel_subscription="now", idempotency_key="rq-1")
        session.commit()
    jobs.flush()
    context.use(app_settings, FixedClock(now))
    try:
        BurstWorker([Queue("payments", connection=redis), Queue("invoices", connection=redis)],
                     connection=redis).work(burst=True, with_scheduler=False)
    finally:
        context.use(None, None)
        redis.close()
    refund = refund_row(engine, placed.refund.id)
    assert (refund.status, refund.einvoice_status) == ("succeeded", "done")
    assert card_record(sim, world.order_number)["status"] == "已放棄"
    assert einvoice_row(engine, world.order_id).status == "voided"
    assert books_findings(engine, now) == []
