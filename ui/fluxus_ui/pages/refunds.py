"""The refunds of an order (amount, state, date) and the credit balance, on the customer's
order and invoice pages."""

from __future__ import annotations

from typing import Any

from fluxus_ui.i18n import date, money
from fluxus_ui.pages import View
from fluxus_ui.stores.refunds import RefundsStore
from fluxus_ui.template import badge, esc, html_pane, table

# The badge colour of each refund state (template.badge's status names).
_TONE = {"succeeded": "completed", "confirmed": "completed", "owed": "pending",
         "requested": "processing", "sent": "processing", "failed": "processing"}


async def refunds_section(view: View, order_id: str) -> list[Any]:
    """Nothing for an order never refunded and a customer without credit."""
    store = RefundsStore(view.app.client)
    found = await view.app.guarded(lambda: store.of_order(order_id))
    balance = await view.app.guarded(store.credit_balance)
    t = view.t
    parts: list[Any] = []
    if found is not None and found.refunds:
        rows = [(esc(date(r.when)), esc(money(r.amount, r.currency)),
                 badge(_TONE.get(r.status, "pending"), t(f"refund.status.{r.status}")))
                for r in found.refunds]
        headers = [t("refund.date"), t("refund.amount"), t("refund.state")]
        total = t("refund.total", amount=money(found.refunded))
        parts.append(html_pane(
            f"<div class='card'><h3 style='margin:0 0 8px'>{esc(t('refund.title'))}</h3>"
            f"{table(headers, rows, raw=True)}"
            f"<p class='fx-refunded-total'><b>{esc(total)}</b></p></div>",
            css_classes=["fx-refunds"]))
    if balance:
        parts.append(html_pane(f"<p class='fx-credit-balance'>"
                               f"{esc(t('credit.balance', amount=money(balance)))}</p>"))
    return parts
