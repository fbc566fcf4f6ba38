"""A card payment's uniform invoice end to end: the worker issues it at the simulator and the
customer finds its number in the payment e-mail, the receipt PDF and the invoice API."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import EInvoice, Invoice
from services.core.usecases.payment_processing import complete_payment
from services.worker import context
from services.worker.queues import RQJobs, redis_connection
from services.worker.registry import EMAIL, INVOICES
from tests.integration.ecpay_sim.einvoice_support import invoices, simulator_process
from tests.integration.worker.conftest import Inbox, body, run_burst
from tests.support.factories import make_order, make_plan, make_subscription, make_user

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with simulator_process(tmp_path_factory.mktemp("einvoice-delivery")) as url:
        yield url


@pytest.fixture
def isettings(wsettings: Settings, sim: str, clock: FixedClock) -> Settings:
    pinned = dataclasses.replace(wsettings, einvoice_url=sim)
    context.use(pinned, clock)
    return pinned


def _pay(session: Session, settings: Settings, clock: FixedClock, **user: str) -> Invoice:
    customer = make_user(session, **user)
    plan = make_plan(session, name="專業版 Pro", price=Decimal(990))
    order = make_order(session, make_subscription(session, customer, plan,
                                                  payment_method="credit_card"))
    jobs = RQJobs(redis_connection(settings))
    result = complete_payment(session, clock, jobs, order_id=order.id, trade_no="2701150200077",
                              paid_at=clock.now(), amount=990, payment_type="Credit_CreditCard",
                              raw={"RtnCode": "1"}, source="test", settings=settings)
    session.commit()
    jobs.flush()
    assert result.invoice_id is not None
    return session.get_one(Invoice, result.invoice_id)


def _einvoice(session: Session, invoice: Invoice) -> EInvoice:
    session.expire_all()
    return session.scalars(select(EInvoice).where(EInvoice.invoice_id == invoice.id)).one()


def _pdf_text(settings: Settings, invoice: Invoice) -> str:
    path = Path(settings.invoice_dir) / f"{invoice.invoice_number}.pdf"
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(path.read_bytes())).pages)


def test_the_payment_email_and_the_pdf_carry_the_uniform_invoice(
    session: Session, isettings: Settings, clock: FixedClock, smtp: tuple[Inbox, int], sim: str
) -> None:
    invoice = _pay(session, isettings, clock, invoice_kind="mobile_barcode",
                   invoice_carrier_num="/ABC1234", language="zh-TW")
    run_burst(isettings)

    einvoice = _einvoice(session, invoice)
    assert einvoice.status == "issued" and einvoice.invoice_no
    assert [i["invoice_no"] for i in invoices(sim)
            if i["relate_number"] == einvoice.relate_number] == [einvoice.invoice_no]
    inbox, _ = smtp
    [mail] = inbox.messages  # one confirmation, with the number: no second e-mail needed
    text = body(mail, "plain")
    assert f"統一發票 {einvoice.display_number}" in text
    assert f"隨機碼 {einvoice.random_number}" in text and "/ABC1234" in text
    pdf = _pdf_text(isettings, invoice)
    assert einvoice.display_number in pdf and einvoice.random_number in pdf
    assert "/ABC1234" in pdf


def test_a_number_that_comes_after_the_confirmation_gets_its_own_email(
    session: Session, isettings: Settings, clock: FixedClock, smtp: tuple[Inbox, int]
) -> None:
    invoice = _pay(session, isettings, clock, invoice_kind="company", tax_id="22099131",
                   company_name="台灣積體電路製造股份有限公司", language="en")
    run_burst(isettings, queues=(EMAIL,))  # the confirmation goes out before ECPay answers
    inbox, _ = smtp
    [confirmation] = inbox.messages
    assert "being issued" in body(confirmation, "plain")
    pending_pdf = _pdf_text(isettings, invoice) if (
        Path(isettings.invoice_dir) / f"{invoice.invoice_number}.pdf").exists() else ""

    run_burst(isettings, queues=(INVOICES, EMAIL))

    einvoice = _einvoice(session, invoice)
    assert einvoice.status == "issued"
    assert len(inbox.messages) == 2
    notice = inbox.messages[1]
    assert einvoice.display_number in notice["Subject"]
    assert "buyer tax ID 22099131" in body(notice, "plain")
    pdf = _pdf_text(isettings, invoice)
    assert einvoice.display_number in pdf and "22099131" in pdf
    assert einvoice.display_number not in pending_pdf


def test_a_merchant_invoicing_elsewhere_says_so_on_the_receipt_and_email(
    session: Session, isettings: Settings, clock: FixedClock, smtp: tuple[Inbox, int], sim: str
) -> None:
    elsewhere = dataclasses.replace(isettings, einvoice_enabled=False)
    context.use(elsewhere, clock)
    invoice = _pay(session, elsewhere, clock)
    run_burst(elsewhere)
    assert _einvoice(session, invoice).status == "not_issued"
    [mail] = smtp[0].messages
    assert f"統一發票由 {elsewhere.seller_name} 另行開立" in body(mail, "plain")
    assert "The seller issues the uniform invoice separately" in _pdf_text(elsewhere, invoice)
    assert not [i for i in invoices(sim) if i["relate_number"] == _einvoice(
        session, invoice).relate_number]
