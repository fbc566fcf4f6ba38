"""The e-invoice part of the control page: issued invoices, their allowances, consent buttons."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from flask import Blueprint, Response, redirect

from services.ecpay.einvoice.models import TAIPEI
from services.ecpay.simulator.einvoice import einvoice_sim
from services.ecpay.simulator.einvoice_checks import SimAnswer
from services.ecpay.simulator.einvoice_store import PENDING, SimAllowance, SimInvoice

bp = Blueprint("ecpay_einvoice_console", __name__)


def _back(message: str) -> Response:
    return redirect("/?msg=" + quote(message), code=303)  # type: ignore[return-value]


@bp.post("/console/einvoice/allowances/<allowance_no>/consent")
def consent(allowance_no: str) -> Response:
    try:
        result = einvoice_sim().consent(allowance_no)
    except SimAnswer as error:
        return _back(f"allowance {allowance_no} consent refused: {error.code} {error.message}")
    return _back(f"allowance {allowance_no}: buyer consented; ReturnURL {result['delivery']}")


def _allowance(allowance: SimAllowance) -> str:
    text = escape(f"{allowance.allowance_no} NT$ {allowance.amount} {allowance.state}")
    if allowance.state != PENDING:
        return f"<li>{text}</li>"
    url = escape(f"/console/einvoice/allowances/{quote(allowance.allowance_no, safe='')}/consent")
    button = (
        f'<form method="post" action="{url}" class="act">'
        '<button type="submit">buyer consents</button></form>'
    )
    return f"<li>{text} {button}</li>"


def _row(invoice: SimInvoice) -> str:
    cells = [
        invoice.invoice_no,
        invoice.relate_number,
        f"{invoice.invoice_date.astimezone(TAIPEI):%Y/%m/%d %H:%M:%S}",
        invoice.random_number,
        f"NT$ {invoice.sales_amount}",
        "voided" if invoice.voided_at else "issued",
        f"NT$ {invoice.remaining}",
    ]
    tds = "".join(f"<td>{escape(cell)}</td>" for cell in cells)
    allowances = "".join(_allowance(a) for a in invoice.allowances)
    row_id = escape(f"einvoice-{invoice.invoice_no}")
    return f'<tr id="{row_id}">{tds}<td><ul>{allowances}</ul></td></tr>'


def section() -> str:
    """The e-invoice table for the control page (newest first)."""
    sim = einvoice_sim()
    sim.book.expire_consents(sim.clock.now())
    head = "".join(
        f"<th>{escape(h)}</th>"
        for h in ("InvoiceNo", "RelateNumber", "date", "random", "amount", "state", "remaining")
    )
    rows = "".join(_row(invoice) for invoice in reversed(sim.book.invoices()))
    config = sim.config
    track = f"{config.track}{config.first_number:08d}-{config.track}{config.last_number:08d}"
    return (
        f"<h2>E-invoices (merchant {escape(config.merchant_id)}, range {escape(track)})</h2>"
        f"<table><thead><tr>{head}<th>allowances</th></tr></thead><tbody>{rows}</tbody></table>"
    )
