"""Orders: the list, and one order's status with ATM/CVS/barcode instructions while unpaid."""

from __future__ import annotations

from typing import Any

import panel as pn

from fluxus_ui.i18n import bank_name, date, datetime_text, money
from fluxus_ui.models import Order
from fluxus_ui.pages import View
from fluxus_ui.pages.gateway import GatewayRedirect
from fluxus_ui.pages.refunds import refunds_section
from fluxus_ui.stores.einvoices import summary
from fluxus_ui.stores.insights import payment_instructions
from fluxus_ui.template import badge, button, code_rows, definition_list, esc, heading, html_pane

POLL_MS = 2000
POLL_COUNT = 45  # about a minute and a half of waiting for the gateway's callback


class OrdersView(View):
    name = "orders"

    async def render(self, **params: Any) -> pn.viewable.Viewable:
        if params.get("order_id"):
            return await self._detail(str(params["order_id"]))
        await self.app.billing.load_account()
        orders = self.app.billing.orders
        parts: list[Any] = [heading(self.t("orders.title"))]
        if not orders:
            parts.append(html_pane(f"<p class='muted'>{esc(self.t('orders.none'))}</p>"))
        for order in orders:
            parts.append(self._row(order))
        return pn.Column(*parts, sizing_mode="stretch_width", css_classes=["fx-page-orders"])

    def _row(self, order: Order) -> pn.FlexBox:
        text = (f"<b>{esc(order.order_number)}</b> · {esc(date(order.created_at))} · "
                f"{esc(money(order.amount, order.currency))} · "
                f"{esc(self.method(order.payment_method))} "
                f"{badge(order.status, self.status(order.status))}")
        view = button(self.t("orders.view"),
                      lambda _e: self.app.navigate("orders", order_id=order.id), "light",
                      name=f"order-{order.order_number}")
        return pn.FlexBox(html_pane(text, width=None, sizing_mode="stretch_width"), view,
                          flex_wrap="nowrap", align_items="center", sizing_mode="stretch_width",
                          styles={"border-bottom": "1px solid #e3e6e8"})

    async def _detail(self, order_id: str) -> pn.viewable.Viewable:
        order = await self.app.billing.order(order_id)
        body = pn.Column(*self._detail_parts(order), sizing_mode="stretch_width")
        if order.status in ("pending", "processing"):
            self._watch(order, body)
        paid = await refunds_section(self, order.id) if order.paid_at else []
        return pn.Column(body, *paid, sizing_mode="stretch_width", css_classes=["fx-page-order"])

    def _detail_parts(self, order: Order) -> list[Any]:
        rows = [
            (self.t("orders.number"), order.order_number),
            (self.t("orders.date"), datetime_text(order.created_at)),
            (self.t("orders.amount"), money(order.amount, order.currency)),
            (self.t("orders.method"), self.method(order.payment_method)),
        ]
        if order.invoice_preference is not None:  # chosen at checkout for this order
            email = self.app.auth.user.email if self.app.auth.user else ""
            rows.append((self.t("einv.title"),
                         summary(order.invoice_preference, email, self.t)))
        status = (f"<p>{esc(self.t('orders.status'))}: "
                  f"<span class='fx-order-status'>{badge(order.status, self.status(order.status))}"
                  "</span></p>")
        parts: list[Any] = [
            heading(self.t("orders.detail", number=order.order_number)),
            html_pane(f'<div class="card">{status}{definition_list(rows)}</div>',
                      css_classes=["fx-order-card"]),
        ]
        steps = payment_instructions(order) if order.status in ("pending", "processing") else []
        if steps:
            expire = dict(steps).get("pay.expire", "—")
            codes = [(self._label(key), value, self._note(key, value), key != "pay.expire")
                     for key, value in steps]
            waiting = self.t(f"orders.waiting_{order.payment_method}", expire=expire)
            parts += [heading(self.t("orders.instructions")),
                      html_pane(f'<div class="card"><p class="fx-waiting"><b>{esc(waiting)}</b>'
                                f"</p>{code_rows(codes, self.t('pay.copy'), self.t('pay.copied'))}"
                                "</div>", css_classes=["fx-payment-code"])]
        if order.failure_reason and order.status == "pending":
            failed = self.t("orders.failed_before", reason=order.failure_reason)
            parts.append(html_pane(f"<p class='fx-failure'>{esc(failed)}</p>"))
        if order.status in ("pending", "processing"):
            parts.append(html_pane(f"<p class='muted'>{esc(self.t('orders.waiting'))}</p>"))
            parts.append(button(self.t("orders.refresh"),
                                lambda _e: self.app.navigate("orders", order_id=order.id),
                                "light", name="order-refresh"))
        holder = pn.Column(sizing_mode="stretch_width")
        if order.status == "pending" and not order.awaits_customer:
            label = "orders.retry" if order.failure_reason else "orders.pay_now"
            parts.append(button(self.t(label),
                                lambda _e: self.app.spawn(self._pay, order, holder),
                                "primary", name="pay-now"))
        parts.append(holder)
        return parts

    def _note(self, key: str, value: str) -> str:
        """The bank's name beside its code (812 台新銀行), so the customer finds it at the ATM."""
        return bank_name(value, self.app.auth.language) if key == "pay.bank_code" else ""

    def _label(self, key: str) -> str:
        if key.startswith("pay.barcode:"):
            return self.t("pay.barcode", n=key.split(":", 1)[1])
        return self.t(key)

    async def _pay(self, order: Order, holder: pn.Column) -> None:
        form = await self.app.guarded(lambda: self.app.billing.pay_order(order))
        if form is not None:
            holder.objects = [GatewayRedirect.for_form(form, self.t("plans.continue"))]

    def _watch(self, order: Order, body: pn.Column) -> None:
        """Re-read a waiting order until the gateway's answer changes it."""
        page = ("orders", {"order_id": order.id})
        last = (order.status, order.awaits_customer)

        async def poll() -> None:
            nonlocal last
            if self.app.page != page:
                callback.stop()
                return
            fresh = await self.app.guarded(lambda: self.app.billing.order(order.id))
            if fresh is None:
                callback.stop()
                return
            now = (fresh.status, fresh.awaits_customer)
            if now != last:
                last = now
                body.objects = self._detail_parts(fresh)
                if fresh.status not in ("pending", "processing"):
                    callback.stop()

        callback = pn.state.add_periodic_callback(
            poll, period=POLL_MS, count=POLL_COUNT  # type: ignore[arg-type]  # async is supported
        )
