"""Invoices: the list, one invoice's tax breakdown and e-invoice (統一發票), and its PDF."""

from __future__ import annotations

import io
import logging
from typing import Any

import panel as pn

from fluxus_ui.errors import ApiError
from fluxus_ui.i18n import date, money
from fluxus_ui.models import EInvoice, Invoice
from fluxus_ui.pages import View
from fluxus_ui.pages.refunds import refunds_section
from fluxus_ui.stores import einvoices
from fluxus_ui.template import badge, button, definition_list, esc, heading, html_pane

log = logging.getLogger(__name__)


class InvoicesView(View):
    name = "invoices"

    async def render(self, **params: Any) -> pn.viewable.Viewable:
        if params.get("invoice_id"):
            return await self._detail(str(params["invoice_id"]))
        await self.app.billing.load_account()
        invoices = self.app.billing.invoices
        parts: list[Any] = [heading(self.t("inv.title"))]
        if not invoices:
            parts.append(html_pane(f"<p class='muted'>{esc(self.t('inv.none'))}</p>"))
        for invoice in invoices:
            text = (f"<b>{esc(invoice.invoice_number)}</b> · {esc(date(invoice.issued_at))} · "
                    f"{esc(money(invoice.total_amount, invoice.currency))}"
                    f"{self._uniform(invoice.einvoice)}")
            view = button(self.t("orders.view"),
                          lambda _e, i=invoice.id: self.app.navigate("invoices", invoice_id=i),
                          "light", name=f"invoice-{invoice.invoice_number}")
            parts.append(pn.FlexBox(html_pane(text), view, flex_wrap="nowrap",
                                    align_items="center", sizing_mode="stretch_width"))
        return pn.Column(*parts, sizing_mode="stretch_width", css_classes=["fx-page-invoices"])

    async def _detail(self, invoice_id: str) -> pn.viewable.Viewable:
        invoice = await self.app.billing.invoice(invoice_id)
        rows = [
            (self.t("inv.number"), invoice.invoice_number),
            (self.t("inv.date"), date(invoice.issued_at)),
            (self.t("inv.buyer"), invoice.buyer_name or invoice.buyer_email or "—"),
            (self.t("inv.tax_id"), invoice.buyer_tax_id or "—"),
            (self.t("inv.net"), money(invoice.amount, invoice.currency)),
            (self.t("inv.tax"), money(invoice.tax_amount, invoice.currency)),
            (self.t("inv.total"), money(invoice.total_amount, invoice.currency)),
        ]
        parts: list[Any] = [
            heading(self.t("inv.detail", number=invoice.invoice_number)),
            html_pane(f'<div class="card">{definition_list(rows)}</div>',
                      css_classes=["fx-invoice-card"]),
        ]
        if invoice.einvoice is not None:
            parts.append(self._einvoice(invoice.einvoice))
        parts += await refunds_section(self, invoice.order_id)
        download = await self._download(invoice)
        if download is not None:
            parts.append(download)
        return pn.Column(*parts, sizing_mode="stretch_width", css_classes=["fx-page-invoice"])

    def _uniform(self, einvoice: EInvoice | None) -> str:
        """The list's hint of the uniform invoice: its number, or that it is on its way."""
        if einvoice is None:
            return ""
        if einvoice.number:
            return f" · {esc(self.t('einv.title'))} {esc(einvoice.number)}"
        if einvoice.status in ("pending", "failed"):
            return f" {badge('pending', self.t('einv.pending_short'))}"
        return ""

    def _einvoice(self, einvoice: EInvoice) -> pn.pane.HTML:
        body = f"<h3 style='margin:0 0 8px'>{esc(self.t('einv.title'))}"
        if einvoice.status in ("issued", "voided"):
            state = "completed" if einvoice.status == "issued" else "failed"
            body += f" {badge(state, self.t(f'einv.status.{einvoice.status}'))}"
        body += "</h3>"
        rows = einvoices.details(einvoice, self.t)
        if rows:
            body += definition_list(rows)
        key = einvoices.note(einvoice)
        if key:
            body += f"<p class='muted fx-einvoice-note'>{esc(self.t(key))}</p>"
        return html_pane(f'<div class="card">{body}</div>', css_classes=["fx-einvoice"])

    async def _download(self, invoice: Invoice) -> Any:
        def unavailable(exc: ApiError) -> None:
            log.warning("invoice %s PDF: %s %s", invoice.id, exc.status, exc.message)

        pdf = await self.app.guarded(lambda: self.app.billing.invoice_pdf(invoice),
                                     on_error=unavailable)
        if pdf is None:
            text = self.t("inv.pdf_missing")
            return html_pane(f"<p class='muted'>{esc(text)}</p>", css_classes=["fx-pdf-missing"])
        return pn.widgets.FileDownload(
            file=io.BytesIO(pdf), filename=f"{invoice.invoice_number}.pdf",
            label=self.t("inv.download"), button_type="primary", embed=False,
            css_classes=["fx-invoice-pdf"],
        )
