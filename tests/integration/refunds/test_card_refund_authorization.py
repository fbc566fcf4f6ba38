"""Card refunds ask ECPay's QueryTrade by the card authorization, as ECPay documents it
(?p=2894 / ?p=16589): Fluxus's own checkout asks for NeedExtraPaidInfo, the simulator's
ReturnURL brings the gwsr back, the callback stores it, and the refund saga finds it there.
An order paid before Fluxus kept the gwsr fails plainly and asks for a transfer."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest
from sqlalchemy import Engine, select

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.crypto import decrypt_json, encrypt_json
from services.core.db.models import EInvoice, Order
from services.core.db.session import session_factory
from services.core.ports import RecordingJobs
from services.core.usecases.checkout import CheckoutUrls, create_checkout
from services.core.usecases.einvoices import issuing
from services.core.usecases.payment_notifications import Kind, receive_notification
from services.core.usecases.payment_processing import process_notification
from services.ecpay.credentials import EcpayCredentials
from tests.integration.ecpay_sim.einvoice_support import client as einvoice_client
from tests.integration.payment.conftest import seed
from tests.integration.refunds.refund_support import (
    ask,
    books_findings,
    card_record,
    order_row,
    paid_order,
    refund_row,
    return_fields,
    run_jobs,
    staff_user,
)

pytestmark = pytest.mark.integration


def test_a_card_refund_finds_ecpays_trade_by_the_gwsr_the_checkout_brought_back(
    engine: Engine, app_settings: Settings, sim: str, now: datetime
) -> None:
    world = seed(engine, price=1000, auto_renew=False, attempt=False)
    creds = EcpayCredentials.stage(sim)
    clock = FixedClock(now)
    with session_factory(engine)() as session:
        form = create_checkout(session, clock, user_id=world.user_id, order_id=world.order_id,
                               credentials=creds, urls=CheckoutUrls.under("http://127.0.0.1:9"))
        session.commit()
    assert form.fields["NeedExtraPaidInfo"] == "Y"
    number = form.fields["MerchantTradeNo"]
    assert httpx.post(form.action_url, data=dict(form.fields), timeout=10).status_code == 200
    paid = httpx.post(f"{sim}/_sim/orders/{number}/pay", json={"method": "Credit"}, timeout=10)
    assert paid.status_code == 200, paid.text
    gwsr = paid.json()["order"]["gwsr"]
    posted = return_fields(sim, number)
    assert (posted["gwsr"], posted["amount"]) == (gwsr, "1000")

    # What the payment service's callback and the worker's job do with that post.
    with session_factory(engine)() as session:
        receipt = receive_notification(session, clock, RecordingJobs(), kind=Kind.RETURN,
                                       form=posted, credentials=creds)
        session.commit()
    assert receipt.notification_id is not None
    with session_factory(engine)() as session:
        process_notification(session, clock, RecordingJobs(), receipt.notification_id,
                             app_settings)
        session.commit()
        einvoice_id = session.scalars(
            select(EInvoice.id).where(EInvoice.order_id == world.order_id)).one()
    with session_factory(engine)() as session:
        assert issuing.issue(session, clock, einvoice_client(sim), einvoice_id).value == "issued"
        session.commit()
    assert order_row(engine, world.order_id).status == "completed"

    placed = ask(engine, now, staff_user(engine), world.order_id, 400)
    assert run_jobs(app_settings, now, placed.refund.id) == "succeeded"
    refund = refund_row(engine, placed.refund.id)
    assert [c["action"] for c in refund.gateway_actions["calls"]] == ["R"]
    record = card_record(sim, number)
    assert (record["refunded"], record["clsamt"]) == (400, "600")
    assert books_findings(engine, now) == []


def test_an_order_paid_before_the_gwsr_was_kept_fails_and_asks_for_a_transfer(
    engine: Engine, app_settings: Settings, sim: str, now: datetime
) -> None:
    world = paid_order(engine, app_settings, sim, now)
    with session_factory(engine)() as session:
        order = session.get_one(Order, world.order_id)
        stored = decrypt_json(order.payment_data or "", app_settings)
        # As a payment completed before checkouts sent NeedExtraPaidInfo=Y was stored.
        for extra in ("gwsr", "amount", "auth_code", "process_date", "card4no", "card6no"):
            stored["fields"].pop(extra, None)
        order.payment_data = encrypt_json(stored, app_settings)
        session.commit()
    before = card_record(sim, world.order_number)

    placed = ask(engine, now, staff_user(engine), world.order_id, 300)
    assert run_jobs(app_settings, now, placed.refund.id) == "failed"
    refund = refund_row(engine, placed.refund.id)
    assert refund.status == "failed" and "bank transfer" in refund.last_error
    assert "gwsr" in refund.last_error and refund.gateway_actions["calls"] == []
    # Nothing was asked of ECPay and no money moved.
    assert card_record(sim, world.order_number) == before
    assert order_row(engine, world.order_id).status == "completed"
