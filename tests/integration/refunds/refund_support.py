"""Shared steps of the refund tests: a paid card (or ATM) order that exists at the simulator,
its e-invoice issued there, the worker's refund jobs run in-process, the books audited."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import httpx
from sqlalchemy import Engine, select

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import EInvoice, Order, Refund, User
from services.core.db.session import session_factory
from services.core.ports import RecordingJobs
from services.core.usecases.audit import Actor
from services.core.usecases.books import audit_books
from services.core.usecases.einvoices import issuing
from services.core.usecases.payment_processing import complete_payment
from services.core.usecases.refunds import requests
from services.ecpay.checkout import CheckoutOrder, ChoosePayment, PeriodicPlan, build_checkout
from services.ecpay.credentials import EcpayCredentials
from services.ecpay.fields import parse_taipei_datetime
from services.worker import context
from services.worker.jobs import refunds as refund_jobs
from tests.integration.ecpay_sim.einvoice_support import client as einvoice_client
from tests.integration.payment.conftest import World, seed
from tests.support.factories import make_user

TAIPEI_MORNING_UTC_HOUR = 2  # 10:00 in Taipei: far from ECPay's 20:15 capture batch


def sim_now(sim: str) -> datetime:
    answer = httpx.get(f"{sim}/_sim/clock", timeout=10)
    assert answer.status_code == 200, answer.text
    return parse_taipei_datetime(answer.json()["now"]).astimezone(UTC)


def sim_to_next_morning(sim: str) -> datetime:
    """Move the simulator's calendar to the next 10:00 Taipei; that moment, for our clock.

    The simulator shows its clock to the second while it keeps running, so it stands a
    fraction past the moment: reading it back gave 10:00:01 now and then, and tests that
    count from a whole minute failed."""
    now = sim_now(sim)
    target = (now + timedelta(days=1)).replace(hour=TAIPEI_MORNING_UTC_HOUR, minute=0, second=0,
                                                microsecond=0)
    answer = httpx.post(f"{sim}/_sim/clock",
                        json={"advance_seconds": (target - now).total_seconds()}, timeout=10)
    assert answer.status_code == 200, answer.text
    return target


def card_record(sim: str, merchant_trade_no: str) -> dict[str, Any]:
    answer = httpx.get(f"{sim}/_sim/credit/{merchant_trade_no}", timeout=10)
    assert answer.status_code == 200, answer.text
    record: dict[str, Any] = answer.json()
    return record


def sim_fault(sim: str, kind: str, count: int = 1) -> None:
    answer = httpx.post(f"{sim}/_sim/credit/faults", json={"kind": kind, "count": count},
                        timeout=10)
    assert answer.status_code == 200, answer.text


def sim_settings(settings: Settings, sim: str) -> Settings:
    return dataclasses.replace(settings, ecpay_gateway_url=sim, einvoice_url=sim)


def paid_order(engine: Engine, settings: Settings, sim: str, at: datetime, *, price: int = 1000,
               method: str = "credit_card", agreement: bool = False) -> World:
    """An order checked out and paid at the simulator, completed here, its e-invoice issued;
    with `agreement`, a card checkout that set up a monthly 定期定額 agreement for `price`."""
    terms = {"period_type": "M", "frequency": 1, "exec_times": 12, "period_amount": price}
    world = seed(engine, price=price, method=method, periodic=terms if agreement else None)
    creds = EcpayCredentials.stage(sim)
    choose = ChoosePayment.CREDIT if method == "credit_card" else ChoosePayment.ATM
    periodic = PeriodicPlan(price, "M", 1, 12, "http://127.0.0.1:9/period") if agreement \
        else None
    # As Fluxus's checkout does: a card payment's ReturnURL then carries its gwsr and amount.
    form = build_checkout(creds, CheckoutOrder(world.order_number, price, "Fluxus", "Fluxus Pro",
                                               "http://127.0.0.1:9/return",
                                               choose_payment=choose, periodic=periodic,
                                               need_extra_paid_info=choose is ChoosePayment.CREDIT),
                          now=FixedClock(at))
    assert httpx.post(form.action_url, data=dict(form.fields), timeout=10).status_code == 200
    control = f"{sim}/_sim/orders/{world.order_number}"
    if method != "credit_card":
        assert httpx.post(f"{control}/issue-code", json={"method": "ATM"},
                          timeout=10).status_code == 200
    answer = httpx.post(f"{control}/pay", json={"method": "Credit" if method == "credit_card"
                                                 else "ATM"}, timeout=10)
    assert answer.status_code == 200, answer.text
    trade_no = answer.json()["order"]["trade_no"]
    payment_type = "Credit_CreditCard" if method == "credit_card" else "ATM_TAISHIN"
    with session_factory(engine)() as session:
        complete_payment(session, FixedClock(at), RecordingJobs(), order_id=world.order_id,
                         trade_no=trade_no, paid_at=at, amount=price, payment_type=payment_type,
                         raw=return_fields(sim, world.order_number), source="callback",
                         settings=settings)
        session.commit()
        einvoice_id = session.scalars(
            select(EInvoice.id).where(EInvoice.order_id == world.order_id)).one()
    gateway = einvoice_client(sim)
    with session_factory(engine)() as session:
        assert issuing.issue(session, FixedClock(at), gateway, einvoice_id).value == "issued"
        session.commit()
    return world


def return_fields(sim: str, merchant_trade_no: str) -> dict[str, str]:
    """The ReturnURL post the simulator made for the payment (what the callback stores)."""
    answer = httpx.get(f"{sim}/_sim/notifications", params={
        "merchant_trade_no": merchant_trade_no, "kind": "ReturnURL"}, timeout=10)
    assert answer.status_code == 200, answer.text
    fields: dict[str, str] = answer.json()["notifications"][-1]["fields"]
    return fields


def staff_user(engine: Engine) -> User:
    with session_factory(engine)() as session:
        user = make_user(session, is_staff=True)
        session.commit()
        session.expunge(user)
        return user


def ask(engine: Engine, at: datetime, staff: User, order_id: uuid.UUID,
        amount: int | Literal["unused"], *, key: str | None = None,
        reason: str = "customer asked", cancel: str = "no") -> requests.PlacedRefund:
    """Staff ask for a refund of whole NT$ `amount`, or of the unused days."""
    with session_factory(engine)() as session:
        caller = session.get_one(User, staff.id)
        placed = requests.request_refund(
            session, FixedClock(at), RecordingJobs(), Actor(user_id=staff.id, is_staff=True),
            caller, order_id, amount=amount if amount == "unused" else Decimal(amount),
            reason=reason, cancel_subscription=cancel, idempotency_key=key or uuid.uuid4().hex)
        session.commit()
        session.expunge(placed.refund)
        return placed


def confirm(engine: Engine, at: datetime, staff: User, refund_id: uuid.UUID,
            reference: str) -> str:
    """Staff confirm they made an owed refund's bank transfer; the refund's status."""
    with session_factory(engine)() as session:
        refund = requests.confirm_transfer(
            session, FixedClock(at), RecordingJobs(), Actor(user_id=staff.id, is_staff=True),
            session.get_one(User, staff.id), refund_id, reference=reference)
        session.commit()
        return refund.status


def run_jobs(settings: Settings, at: datetime, refund_id: uuid.UUID) -> str:
    """The worker's refund job, then (when the money is back) its e-invoice job."""
    context.use(settings, FixedClock(at))
    try:
        outcome = refund_jobs.run_refund(str(refund_id))
        refund_jobs.correct_refund_einvoice(str(refund_id))
    finally:
        context.use(None, None)
    return outcome


def refund_row(engine: Engine, refund_id: uuid.UUID) -> Refund:
    with session_factory(engine)() as session:
        row = session.get_one(Refund, refund_id)
        session.expunge(row)
        return row


def order_row(engine: Engine, order_id: uuid.UUID) -> Order:
    with session_factory(engine)() as session:
        row = session.get_one(Order, order_id)
        session.expunge(row)
        return row


def einvoice_row(engine: Engine, order_id: uuid.UUID) -> EInvoice:
    with session_factory(engine)() as session:
        row = session.scalars(select(EInvoice).where(EInvoice.order_id == order_id)).one()
        session.expunge(row)
        return row


def books_findings(engine: Engine, at: datetime) -> list[str]:
    with session_factory(engine)() as session:
        report = audit_books(session, FixedClock(at))
    return [finding.line() for finding in report.findings]
