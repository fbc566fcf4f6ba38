"""At checkout: which e-invoice this order gets, and a choice for this order only."""

from __future__ import annotations

from typing import Any

import panel as pn

from fluxus_ui.errors import ApiError
from fluxus_ui.models import InvoicePreference, User
from fluxus_ui.pages.invoice_form import InvoiceForm
from fluxus_ui.stores.einvoices import Translate, summary
from fluxus_ui.template import button, esc, html_pane


class OrderInvoice:
    """The account's preference in one line; "change for this order" opens the same fields."""

    def __init__(self, t: Translate, account: User) -> None:
        self.t = t
        self.account = account
        self.form = InvoiceForm(t, account.invoice, account.email, prefix="fx-oinv")
        self.summary = html_pane("", css_classes=["fx-invoice-summary"])
        self.change = button(t("einv.change"), lambda _e: self._open(True), "light",
                             name="invoice-change")
        self.box = pn.Column(
            html_pane(f"<p class='muted'>{esc(t('einv.order_only'))}</p>"), self.form.layout(),
            button(t("einv.use_account"), lambda _e: self._open(False), "light",
                   name="invoice-use-account"),
            visible=False, sizing_mode="stretch_width", css_classes=["fx-order-invoice"],
        )
        self.form.watch(self._show_summary)
        self._show_summary()

    def layout(self) -> pn.Column:
        return pn.Column(html_pane(f"<b>{esc(self.t('einv.this_order'))}</b>"), self.summary,
                         self.change, self.box, sizing_mode="stretch_width")

    def choice(self) -> InvoicePreference | None:
        """The `invoice` to send with the order: None keeps the account's preference."""
        return self.form.preference() if self.box.visible else None

    def takes(self, exc: ApiError) -> bool:
        """Show a refusal of this order's invoice fields on them; False if it is about else."""
        if not self.box.visible or exc.status != 422:
            return False
        if not any(name.startswith("invoice") for name in exc.errors):
            return False
        self.form.show_errors(exc.errors, self.t("einv.invalid"))
        return True

    def _open(self, on: bool) -> None:
        self.box.visible = on
        self.change.visible = not on
        if not on:
            self.form.clear()
        self._show_summary()

    def _show_summary(self, *_: Any) -> None:
        pref = self.choice() or self.account.invoice
        text = self.t("einv.summary", what=summary(pref, self.account.email, self.t))
        self.summary.object = f"<p style='margin:4px 0'>{esc(text)}</p>"
