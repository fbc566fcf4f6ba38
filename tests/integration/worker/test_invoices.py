"""Invoice PDFs: rendered by the worker with Traditional Chinese text, mailed with the receipt."""

from __future__ import annotations

import io
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import Invoice
from services.core.usecases.invoice_pdf import find_cjk_font, render_invoice_pdf
from services.core.usecases.payment_processing import complete_payment
from services.worker.queues import RQJobs, redis_connection
from tests.integration.worker.conftest import Inbox, body, run_burst
from tests.support.factories import make_order, make_plan, make_subscription, make_user

pytestmark = pytest.mark.integration


def _paid_invoice(session: Session, settings: Settings, clock: FixedClock) -> Invoice:
    user = make_user(session, company_name="台灣測試股份有限公司", tax_id="87654321")
    plan = make_plan(session, name="專業版 Pro", price=Decimal(990))
    sub = make_subscription(session, user, plan, payment_method="credit_card")
    order = make_order(session, sub)
    jobs = RQJobs(redis_connection(settings))
    result = complete_payment(
        session,
        clock,
        jobs,
        order_id=order.id,
        trade_no="2701150200001",
        paid_at=clock.now(),
        amount=990,
        payment_type="Credit_CreditCard",
        raw={"RtnCode": "1"},
        source="test",
        settings=settings,
    )
    session.commit()
    jobs.flush()
    assert result.invoice_id is not None
    return session.get_one(Invoice, result.invoice_id)


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_worker_renders_the_invoice_and_mails_it_with_the_confirmation(
    session: Session, wsettings: Settings, clock: FixedClock, smtp: tuple[Inbox, int]
) -> None:
    assert find_cjk_font() is not None, "install the Debian package fonts-wqy-microhei"
    invoice = _paid_invoice(session, wsettings, clock)

    run_burst(wsettings)

    session.expire_all()
    invoice = session.get_one(Invoice, invoice.id)
    assert invoice.pdf_url == f"/payment/invoice/{invoice.order_id}/pdf"
    path = Path(wsettings.invoice_dir) / f"{invoice.invoice_number}.pdf"
    text = _text(path.read_bytes())
    for expected in (
        "流光科技 Fluxus Ltd.",
        "12345678",
        invoice.invoice_number,
        "台灣測試股份有限公司",
        "87654321",
        "專業版 Pro",
        "營業稅 5% Tax",
        "TWD 47",
        "總計 Total",
        "TWD 990",
        "2027-01-15",
    ):
        assert expected in text
    inbox, _port = smtp
    assert len(inbox.messages) == 1
    mail = inbox.messages[0]
    assert invoice.invoice_number in body(mail, "plain")
    attachments = list(mail.iter_attachments())
    assert [a.get_filename() for a in attachments] == [f"{invoice.invoice_number}.pdf"]
    assert attachments[0].get_content() == path.read_bytes()


def test_without_a_cjk_font_the_pdf_keeps_its_latin_text(
    session: Session, wsettings: Settings, clock: FixedClock, tmp_path: Path
) -> None:
    invoice = _paid_invoice(session, wsettings, clock)
    path = render_invoice_pdf(
        session,
        invoice_id=invoice.id,
        invoice_dir=tmp_path,
        seller_name="流光 Fluxus",
        seller_tax_id="12345678",
        font=None,
    )
    text = _text(path.read_bytes())
    assert "Invoice" in text and "Fluxus" in text and "TWD 990" in text
    assert "流光" not in text


def test_unknown_invoice_is_not_found(session: Session, wsettings: Settings) -> None:
    from services.core.errors import NotFound

    with pytest.raises(NotFound):
        render_invoice_pdf(
            session,
            invoice_id=uuid.uuid4(),
            invoice_dir=Path(wsettings.invoice_dir),
            seller_name="x",
            seller_tax_id="1",
        )
