"""Render an invoice as a PDF under the invoice directory and record where it is served."""

from __future__ import annotations

import os
import tempfile
import uuid
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session

from services.core.db.models import EInvoice, Invoice, Order, Plan
from services.core.domain.periods import TAIPEI
from services.core.errors import NotFound

# Fonts with Traditional Chinese glyphs, first found wins (Debian: fonts-wqy-microhei).
CJK_FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/arphic/uming.ttc"),
)
# Where the payment service serves the PDF to the invoice's owner.
PDF_URL_TEMPLATE = "/payment/invoice/{order_id}/pdf"


def find_cjk_font() -> Path | None:
    return next((path for path in CJK_FONT_CANDIDATES if path.is_file()), None)


def pdf_path(invoice_dir: Path, invoice_number: str) -> Path:
    # Invoice numbers are ours (letters, digits, dashes); refuse anything that could climb out.
    if not invoice_number or any(c in invoice_number for c in "/\\.") or "\0" in invoice_number:
        raise ValueError(f"unsafe invoice number {invoice_number!r}")
    return invoice_dir / f"{invoice_number}.pdf"


class _Writer:
    """fpdf2 with a CJK font when there is one, else a Latin-1 core font that drops CJK.

    Lines are collected first and laid out in `output()`, once the document's characters
    are known: the CJK font embedded is cut to exactly those glyphs (see invoice_font).
    """

    def __init__(self, font: Path | None) -> None:
        # Imported here: fpdf2 brings numpy and Pillow (~40 MiB), and most processes that
        # import this module (the payment service, e-mail jobs) rarely render a PDF.
        from fpdf import FPDF

        self.font = font
        self.unicode = font is not None
        self.family = "cjk" if font is not None else "helvetica"
        self.pdf = FPDF(format="A4")
        self.pdf.set_auto_page_break(auto=True, margin=15)
        self.pdf.add_page()
        self.lines: list[tuple[str, str | None, int, float]] = []  # left, right, size, height

    def text(self, value: str) -> str:
        if self.unicode:
            return value
        # No CJK font: keep what Latin-1 can show, so bilingual labels keep their English.
        kept = value.encode("latin-1", "ignore").decode("latin-1")
        return " ".join(kept.split()) or "-"

    def line(self, value: str, size: int = 11, height: float = 7) -> None:
        self.lines.append((self.text(value), None, size, height))

    def row(self, left: str, right: str, size: int = 11) -> None:
        self.lines.append((self.text(left), self.text(right), size, 7))

    def output(self) -> bytes:
        from services.core.usecases.invoice_font import cjk_font  # fontTools: lazily too

        with tempfile.TemporaryDirectory(prefix="fluxus-font-") as tmp:
            if self.font is not None:
                used = "".join(left + (right or "") for left, right, _, _ in self.lines)
                subset = Path(tmp) / "cjk.ttf"
                subset.write_bytes(cjk_font(self.font).subset(used))
                self.pdf.add_font("cjk", "", str(subset))
            for left, right, size, height in self.lines:
                self.pdf.set_font(self.family, size=size)
                if right is None:
                    self.pdf.cell(0, height, left, new_x="LMARGIN", new_y="NEXT")
                    continue
                self.pdf.cell(120, height, left)
                self.pdf.cell(0, height, right, align="R", new_x="LMARGIN", new_y="NEXT")
            return bytes(self.pdf.output())


def _money(value: Decimal, currency: str) -> str:
    return f"{currency} {value:,.0f}"


def _date(moment: datetime | None) -> str:
    return moment.astimezone(TAIPEI).strftime("%Y-%m-%d") if moment else "-"


def _uniform_invoice(w: _Writer, einvoice: EInvoice | None) -> None:
    """The government uniform invoice (統一發票) this receipt stands beside."""
    if einvoice is None:
        return
    if einvoice.status == "not_issued":
        if einvoice.reason == "einvoicing_disabled":
            w.line("")
            w.line("統一發票由賣方另行開立 The seller issues the uniform invoice separately")
        return
    w.line("")
    if einvoice.status == "pending":
        w.line("統一發票開立中 Uniform invoice: being issued")
        return
    if einvoice.status != "issued" and einvoice.status != "voided":
        return
    w.line(f"統一發票號碼 Uniform invoice: {einvoice.display_number}", size=12)
    w.line(f"發票日期 Invoice date: {_date(einvoice.invoice_date)}")
    w.line(f"隨機碼 Random number: {einvoice.random_number}")
    buyer = einvoice.buyer
    if buyer.get("donation"):
        w.line(f"捐贈 Donated, love code 愛心碼: {buyer.get('love_code')}")
    elif buyer.get("carrier_type") == "3":
        w.line(f"載具 Carrier: 手機條碼 mobile barcode {buyer.get('carrier_num')}")
    elif buyer.get("carrier_type") == "2":
        w.line(f"載具 Carrier: 自然人憑證 citizen certificate {buyer.get('carrier_num')}")
    elif buyer.get("carrier_type") == "1":
        w.line("載具 Carrier: 綠界會員載具 ECPay member carrier")
    if buyer.get("customer_identifier"):
        w.line(f"買方統一編號 Buyer tax ID: {buyer['customer_identifier']}")
        w.line(f"公司名稱 Company: {buyer.get('customer_name', '')}")
    if einvoice.status == "voided":
        w.line("已作廢 Voided")


def build_pdf(
    invoice: Invoice, *, seller_name: str, seller_tax_id: str, item: str, font: Path | None,
    discount: tuple[Decimal, Decimal] | None = None,
) -> bytes:
    """The invoice's PDF bytes (seller, buyer, number, dates, line, tax, total); with a
    coupon, `discount` is (list price, discount) shown above the discounted line."""
    w = _Writer(font)
    w.pdf.set_creation_date(invoice.issued_at)
    w.pdf.set_title(f"Invoice {invoice.invoice_number}")
    w.line("發票 Invoice", size=18, height=12)
    w.line(f"發票號碼 Number: {invoice.invoice_number}")
    w.line(f"開立日期 Date: {_date(invoice.issued_at)}")
    w.line(f"付款日期 Paid: {_date(invoice.paid_at)}")
    w.line("")
    w.line(f"賣方 Seller: {seller_name}")
    w.line(f"統一編號 Tax ID: {seller_tax_id}")
    w.line(f"買方 Buyer: {invoice.buyer_name or invoice.buyer_email}")
    if invoice.buyer_tax_id:
        w.line(f"買方統一編號 Buyer tax ID: {invoice.buyer_tax_id}")
    w.line(f"電子郵件 E-mail: {invoice.buyer_email}")
    _uniform_invoice(w, invoice.einvoice)
    w.line("")
    w.row("品項 Item", "金額 Amount", size=12)
    if discount is not None:
        w.row("定價(含稅) List price, tax incl.", _money(discount[0], invoice.currency))
        w.row("折扣 Coupon discount", "−" + _money(discount[1], invoice.currency))
    w.row(f"{item} × 1", _money(invoice.amount, invoice.currency))
    w.line("")
    w.row("銷售額 Net", _money(invoice.amount, invoice.currency))
    w.row("營業稅 5% Tax", _money(invoice.tax_amount, invoice.currency))
    w.row("總計 Total", _money(invoice.total_amount, invoice.currency), size=13)
    return w.output()


def _item_name(session: Session, invoice: Invoice) -> str:
    if invoice.description:
        return invoice.description
    order = session.get(Order, invoice.order_id)
    plan = session.get(Plan, order.plan_id) if order else None
    return plan.name if plan else "Subscription"


def _discount(session: Session, invoice: Invoice) -> tuple[Decimal, Decimal] | None:
    order = session.get(Order, invoice.order_id)
    if order is None or not order.discount or order.list_amount is None:
        return None
    return order.list_amount, order.discount


def _write_atomically(path: Path, data: bytes) -> None:
    # A reader (the payment service, an e-mail job) never sees a half-written file.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pdf")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render_invoice_pdf(
    session: Session,
    *,
    invoice_id: uuid.UUID,
    invoice_dir: Path,
    seller_name: str,
    seller_tax_id: str,
    font: Path | str | None = "auto",
    force: bool = False,
) -> Path:
    """Write `<invoice_dir>/<invoice_number>.pdf` (unless it exists) and set `pdf_url`.

    Idempotent: a second call returns the existing file. `font="auto"` finds a CJK font.
    """
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise NotFound(f"invoice {invoice_id} not found")
    path = pdf_path(invoice_dir, invoice.invoice_number)
    if force or not path.is_file():
        chosen = find_cjk_font() if font == "auto" else font
        data = build_pdf(
            invoice,
            seller_name=seller_name,
            seller_tax_id=seller_tax_id,
            item=_item_name(session, invoice),
            font=Path(chosen) if chosen else None,
            discount=_discount(session, invoice),
        )
        _write_atomically(path, data)
    url = PDF_URL_TEMPLATE.format(order_id=invoice.order_id)
    if invoice.pdf_url != url:
        invoice.pdf_url = url
    return path
