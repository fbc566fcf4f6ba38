"""Invoice PDFs embed just the glyphs of their own text, from a font parsed once a process."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pypdf import PdfReader

from services.core.db.models import Invoice
from services.core.usecases.invoice_font import cjk_font
from services.core.usecases.invoice_pdf import build_pdf, find_cjk_font


def _invoice(buyer: str) -> Invoice:
    paid = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
    return Invoice(
        id=uuid.uuid4(),
        order_id=uuid.uuid4(),
        invoice_number="INV-202612-000001",
        issued_at=paid,
        paid_at=paid,
        buyer_name=buyer,
        buyer_email="ming@example.tw",
        amount=Decimal(943),
        tax_amount=Decimal(47),
        total_amount=Decimal(990),
        currency="TWD",
    )


def _render(buyer: str) -> bytes:
    font = find_cjk_font()
    if font is None:
        pytest.fail("install the Debian package fonts-wqy-microhei")
    return build_pdf(
        _invoice(buyer),
        seller_name="福樂斯股份有限公司",
        seller_tax_id="12345675",
        item="專業版 月繳",
        font=font,
    )


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_each_invoice_in_a_process_shows_its_own_customers_name() -> None:
    # Rare characters in names: each document's font must carry its own, not the first's.
    first, second = _render("鍾瑋琇"), _render("龔曌彧")
    assert "買方 Buyer: 鍾瑋琇" in _text(first)
    assert "買方 Buyer: 龔曌彧" in _text(second)
    assert "福樂斯股份有限公司" in _text(second) and "總計 Total" in _text(second)


def test_an_invoice_embeds_only_the_glyphs_it_shows() -> None:
    # The 5 MB font file never rides along in a customer's e-mail attachment.
    assert len(_render("王小明")) < 100_000


def test_an_invoice_is_the_same_bytes_drawn_first_or_after_many_others() -> None:
    # Glyphs are kept compiled between documents: what one document embeds must not depend
    # on which documents the process drew before it (a glyph shared, then changed).
    cjk_font.cache_clear()
    first = _render("鍾瑋琇 Zoë")
    for buyer in ("龔曌彧", "王小明", "Ångström ©", "鍾瑋琇 Zoë"):
        _render(buyer)
    assert _render("鍾瑋琇 Zoë") == first
    cjk_font.cache_clear()
    assert _render("鍾瑋琇 Zoë") == first
