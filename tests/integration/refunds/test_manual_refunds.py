"""Manual refunds (ATM/CVS/barcode: no refund API) owed until staff confirm the transfer; a
refund_needed review item refunded from the queue; the sweep picking up due refunds."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import Engine, select

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import EmailDelivery, PaymentNotification, PaymentReview, User
from services.core.db.session import session_factory
from services.core.errors import Conflict
from services.core.ports import RecordingJobs
from services.core.usecases.audit import Actor
from services.core.usecases.payments.reviews import ReviewReason, park
from services.core.usecases.refunds import requests
from services.worker import context
from services.worker.jobs import refunds as refund_jobs
from tests.integration.refunds.refund_support import (
    ask,
    books_findings,
    card_record,
    confirm,
    einvoice_row,
    order_row,
    paid_order,
    refund_row,
    return_fields,
    run_jobs,
    staff_user,
)

pytestmark = pytest.mark.integration


def test_an_atm_refund_is_owed_until_staff_confirm_the_transfer(
    engine: Engine, app_settings: Settings, sim: str, now: datetime
) -> None:
    world = paid_order(engine, app_settings, sim, now, method="atm")
    staff = staff_user(engine)
    refund = ask(engine, now, staff, world.order_id, 1000, cancel="now").refund
    assert (refund.method, refund.status) == ("manual", "owed")
    # Nothing to do for the card saga, and the e-invoice waits for the money.
    assert run_jobs(app_settings, now, refund.id) == "not_pending"
    assert einvoice_row(engine, world.order_id).status == "issued"
    assert books_findings(engine, now) == []  # owed is normal for a while
    assert books_findings(engine, now + timedelta(days=15))[0].startswith(
        "refund_failed_or_stuck")
    later = now + timedelta(hours=3)
    assert confirm(engine, later, staff, refund.id, "TX-0001") == "confirmed"
    # Confirming twice with the same reference is harmless; another one is refused.
    assert confirm(engine, later, staff, refund.id, "TX-0001") == "confirmed"
    with pytest.raises(Conflict) as other:
        confirm(engine, later, staff, refund.id, "TX-0002")
    assert other.value.code == "refund_already_confirmed"
    context.use(app_settings, FixedClock(later))
    try:
        assert refund_jobs.correct_refund_einvoice(str(refund.id)) == "done"
    finally:
        context.use(None, None)
    row = refund_row(engine, refund.id)
    assert row.transfer_reference == "TX-0001" and row.completed_at == later
    assert row.confirmed_by == staff.id and row.einvoice_result["correction"] == "void"
    assert order_row(engine, world.order_id).status == "refunded"
    with session_factory(engine)() as session:
        mail = session.scalars(select(EmailDelivery).where(
            EmailDelivery.event_key == f"refund:{refund.id}")).one()
        assert mail.context["transfer_reference"] == "TX-0001"
    assert books_findings(engine, later) == []


def test_a_card_refund_cannot_be_confirmed_as_a_transfer(
    engine: Engine, app_settings: Settings, sim: str, now: datetime
) -> None:
    world = paid_order(engine, app_settings, sim, now)
    staff = staff_user(engine)
    refund = ask(engine, now, staff, world.order_id, 100).refund
    with pytest.raises(Conflict) as refused:
        confirm(engine, now, staff, refund.id, "TX-9")
    assert refused.value.code == "refund_not_owed"


def test_a_refund_needed_review_item_is_refunded_from_its_own_trade(
    engine: Engine, app_settings: Settings, sim: str, now: datetime
) -> None:
    """A second card payment of an order was parked and decided refund_needed: refunding it
    gives that trade's money back, leaves the order, its invoice and its e-invoice alone."""
    world = paid_order(engine, app_settings, sim, now)
    duplicate = paid_order(engine, app_settings, sim, now)  # stands in for the second trade
    staff = staff_user(engine)
    with session_factory(engine)() as session:
        trade_no = order_row(engine, duplicate.order_id).ecpay_trade_no
        # The second payment's ReturnURL, stored as the callback stores every notification:
        # its gwsr is what the refund asks ECPay about.
        note = PaymentNotification(
            dedupe_key=duplicate.order_number, kind="return", verdict="accepted",
            merchant_trade_no=duplicate.order_number, rtn_code="1",
            raw=return_fields(sim, duplicate.order_number))
        session.add(note)
        session.flush()
        review_id = park(session, source_key=f"test:{duplicate.order_number}",
                         reason=ReviewReason.DUPLICATE_PAYMENT, arrived_at=now,
                         detail="paid twice", amount=1000,
                         merchant_trade_no=duplicate.order_number,
                         gateway_trade_no=trade_no or "", order_id=world.order_id,
                         subscription_id=world.subscription_id, notification_id=note.id)
        session.get_one(PaymentReview, review_id).status = "refund_needed"
        session.commit()
    with session_factory(engine)() as session:
        placed = requests.request_refund(
            session, FixedClock(now), RecordingJobs(), Actor(user_id=staff.id, is_staff=True),
            session.get_one(User, staff.id), world.order_id, amount=Decimal(1000),
            reason="paid twice", cancel_subscription="no", idempotency_key="review-1",
            review_id=review_id)
        session.commit()
        refund_id = placed.refund.id
    assert run_jobs(app_settings, now, refund_id) == "succeeded"
    assert card_record(sim, duplicate.order_number)["status"] == "已放棄"
    assert order_row(engine, world.order_id).status == "completed"
    assert einvoice_row(engine, world.order_id).status == "issued"
    row = refund_row(engine, refund_id)
    assert row.review_id == review_id and row.einvoice_status == "not_needed"
    with pytest.raises(Conflict) as more, session_factory(engine)() as session:
        requests.request_refund(
            session, FixedClock(now), RecordingJobs(), Actor(user_id=staff.id),
            session.get_one(User, staff.id), world.order_id, amount=Decimal(1),
            reason="again", cancel_subscription="no", idempotency_key="review-2",
            review_id=review_id)
    assert more.value.code == "refund_exceeds_paid"


def test_the_sweep_sends_due_refunds_again(
    engine: Engine, app_settings: Settings, sim: str, now: datetime, redis_url: str
) -> None:
    world = paid_order(engine, app_settings, sim, now)
    refund = ask(engine, now, staff_user(engine), world.order_id, 100).refund
    context.use(app_settings, FixedClock(now - timedelta(seconds=1)))
    try:
        assert refund_jobs.sweep_refunds() == 0  # not due yet
        context.use(app_settings, FixedClock(now))
        assert refund_jobs.sweep_refunds() == 1
    finally:
        context.use(None, None)
    queued = Queue("payments", connection=Redis.from_url(redis_url)).job_ids
    assert any(job_id.startswith(f"refund-{refund.id}-sweep") for job_id in queued)
