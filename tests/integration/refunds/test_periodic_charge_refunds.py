"""Refunds of 定期定額 money: DoAction names a trade by MerchantTradeNo and TradeNo, which only
the agreement's first (checkout) charge has. That one goes back through the card saga in full
while it is the agreement's only charge; once the agreement has charged again, ECPay documents
no DoAction for it or its later charges: the simulator refuses (the harsher reading) and Fluxus
records a bank transfer for staff to make."""

from __future__ import annotations

import uuid
from datetime import datetime

import httpx
import pytest
from sqlalchemy import Engine, select

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import EInvoice, Order
from services.core.db.session import session_factory
from services.core.errors import Conflict
from services.core.ports import RecordingJobs
from services.core.usecases.einvoices import issuing
from services.core.usecases.payments.period_charges import record_period_charge
from services.ecpay.credentials import EcpayCredentials
from services.ecpay.credit_detail import CreditDetailClient, CreditDetailRefused
from services.ecpay.notifications import PeriodNotification
from services.ecpay.simulator.card_ledger import RTN_PARTIAL_REFUSED, RTN_PERIODIC_LATER_CHARGE
from tests.integration.ecpay_sim.einvoice_support import client as einvoice_client
from tests.integration.refunds.refund_support import (
    ask,
    books_findings,
    card_record,
    confirm,
    order_row,
    paid_order,
    refund_row,
    run_jobs,
    staff_user,
)

pytestmark = pytest.mark.integration


def gateway(sim: str, at: datetime) -> CreditDetailClient:
    creds = EcpayCredentials.stage(sim)
    return CreditDetailClient(sim, creds.merchant_id, creds.hash_key, creds.hash_iv)


def second_charge(engine: Engine, app_settings: Settings, sim: str, number: str,
                  at: datetime) -> uuid.UUID:
    """ECPay's charge 2 at the simulator, and its PeriodReturnURL post applied here (the
    renewal order it pays gets its e-invoice issued); returns that order's id."""
    answer = httpx.post(f"{sim}/_sim/orders/{number}/period", json={}, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["order"]["total_success_times"] == 2
    with session_factory(engine)() as session:
        result = record_period_charge(
            session, FixedClock(at), RecordingJobs(), merchant_trade_no=number,
            charge=PeriodNotification(
                merchant_id="3002607", merchant_trade_no=number, rtn_code=1, rtn_msg="成功",
                period_type="M", frequency=1, exec_times=12, amount=1000, gwsr="90000002",
                process_date=at, auth_code="777777", first_auth_amount=1000,
                total_success_times=2, simulate_paid=False),
            notification_id=None,  # type: ignore[arg-type]
            settings=app_settings)
        session.commit()
        assert result.order_id is not None, result
        einvoice_id = session.scalars(
            select(EInvoice.id).where(EInvoice.order_id == result.order_id)).one()
    with session_factory(engine)() as session:
        assert issuing.issue(session, FixedClock(at), einvoice_client(sim),
                             einvoice_id).value == "issued"
        session.commit()
    return result.order_id


def test_the_first_charge_alone_goes_back_in_full_by_the_saga_never_in_part(
        engine: Engine, app_settings: Settings, sim: str, now: datetime) -> None:
    world = paid_order(engine, app_settings, sim, now, agreement=True)
    staff = staff_user(engine)
    with pytest.raises(Conflict) as partial:
        ask(engine, now, staff, world.order_id, 400)
    assert partial.value.code == "partial_refund_not_allowed"
    # The simulator refuses a partial R of an agreement's authorization as well.
    with pytest.raises(CreditDetailRefused) as refused:
        gateway(sim, now).do_action(world.order_number, card_record(
            sim, world.order_number)["TradeID"], "R", 400)
    assert refused.value.rtn_code == RTN_PARTIAL_REFUSED

    placed = ask(engine, now, staff, world.order_id, 1000, cancel="now")
    assert placed.refund.method == "card"
    assert run_jobs(app_settings, now, placed.refund.id) == "succeeded"
    assert [c["action"] for c in refund_row(engine, placed.refund.id)
            .gateway_actions["calls"]] == ["E", "N"]
    assert order_row(engine, world.order_id).status == "refunded"
    assert books_findings(engine, now) == []


def test_after_a_later_charge_the_simulator_refuses_doaction_and_fluxus_owes_a_transfer(
        engine: Engine, app_settings: Settings, sim: str, now: datetime) -> None:
    world = paid_order(engine, app_settings, sim, now, agreement=True)
    first = order_row(engine, world.order_id)
    assert first.period_end is not None
    renewal_id = second_charge(engine, app_settings, sim, world.order_number, first.period_end)
    trade_no = card_record(sim, world.order_number)["TradeID"]
    for action, amount in (("R", 1000), ("E", 1000), ("N", 1000)):
        with pytest.raises(CreditDetailRefused) as refused:
            gateway(sim, now).do_action(world.order_number, trade_no, action, amount)
        assert refused.value.rtn_code == RTN_PERIODIC_LATER_CHARGE

    staff = staff_user(engine)
    at = first.period_end
    for order_id in (world.order_id, renewal_id):  # the first charge and the later one
        placed = ask(engine, at, staff, order_id, 1000,
                     cancel="now" if order_id == renewal_id else "no")
        assert (placed.refund.method, placed.refund.status) == ("manual", "owed")
        confirm(engine, at, staff, placed.refund.id, f"TX-{order_id.hex[:8]}")
        run_jobs(app_settings, at, placed.refund.id)
        refund = refund_row(engine, placed.refund.id)
        assert (refund.status, refund.einvoice_status) == ("confirmed", "done")
        with session_factory(engine)() as session:
            assert session.get_one(Order, order_id).status == "refunded"
    assert card_record(sim, world.order_number)["refunded"] == 0  # nothing went by DoAction
    assert books_findings(engine, at) == []
