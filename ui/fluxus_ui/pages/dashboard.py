"""The customer's overview: plan, period, renewal, money paid, what needs action."""

from __future__ import annotations

from typing import Any

import panel as pn

from fluxus_ui.i18n import date, money
from fluxus_ui.pages import View
from fluxus_ui.stores.insights import next_renewal
from fluxus_ui.template import badge, button, definition_list, esc, heading, html_pane, table


class DashboardView(View):
    name = "dashboard"

    async def render(self, **params: Any) -> pn.viewable.Viewable:
        billing = self.app.billing
        await billing.load_account()
        parts: list[Any] = [heading(self.t("dash.title"))]
        for banner in billing.banners():
            alert = pn.pane.Alert(self.t(banner.key, **self._localise(banner.values)),
                                  alert_type=banner.level, sizing_mode="stretch_width",
                                  css_classes=["fx-banner"])
            parts.append(alert)
            if banner.order_id:
                parts.append(button(self.t("orders.view"),
                                    lambda _e, o=banner.order_id: self.app.navigate(
                                        "orders", order_id=o), "light"))
        parts.append(self._subscription())
        parts.append(html_pane(definition_list([
            (self.t("dash.paid_this_year"), money(billing.paid_this_year())),
        ]), css_classes=["fx-paid-year"]))
        parts += [heading(self.t("dash.recent_orders")), self._orders(),
                  heading(self.t("dash.recent_invoices")), self._invoices()]
        return pn.Column(*parts, sizing_mode="stretch_width", css_classes=["fx-page-dashboard"])

    def _localise(self, values: dict[str, str]) -> dict[str, str]:
        out = dict(values)
        if "method" in out:
            out["method"] = self.method(out["method"])
        return out

    def _subscription(self) -> Any:
        sub = self.app.billing.current
        if sub is None:
            return pn.Column(
                html_pane(f"<p>{esc(self.t('dash.no_subscription'))}</p>"),
                button(self.t("dash.choose_plan"), lambda _e: self.app.navigate("plans"),
                       "primary", name="choose-plan"),
            )
        plan = self.app.billing.plan(sub.plan_id) or sub.plan
        period = f"{date(sub.start_date)} – {date(sub.end_date)}" if sub.start_date else "—"
        if sub.cancel_at_period_end:
            renew = self.t("acct.will_cancel", date=date(sub.end_date))
        else:
            renew = date(next_renewal(sub))
        rows = [
            (self.t("dash.plan"), plan.name if plan else "—"),
            (self.t("dash.period"), period),
            (self.t("dash.next_renewal"), renew),
            (self.t("dash.auto_renew"), self.t("yes") if sub.auto_renew else self.t("no")),
        ]
        label = esc(self.t("dash.status"))
        status = f"<p>{label}: {badge(sub.status, self.status(sub.status))}</p>"
        return html_pane(f'<div class="card">{status}{definition_list(rows)}</div>',
                         css_classes=["fx-subscription"])

    def _orders(self) -> Any:
        orders = self.app.billing.orders[:5]
        if not orders:
            return html_pane(f"<p class='muted'>{esc(self.t('orders.none'))}</p>")
        rows = [[esc(o.order_number), esc(date(o.created_at)), esc(money(o.amount, o.currency)),
                 esc(self.method(o.payment_method)), badge(o.status, self.status(o.status))]
                for o in orders]
        return html_pane(table([self.t("orders.number"), self.t("orders.date"),
                                self.t("orders.amount"), self.t("orders.method"),
                                self.t("orders.status")], rows, raw=True),
                         css_classes=["fx-recent-orders"])

    def _invoices(self) -> Any:
        invoices = self.app.billing.invoices[:5]
        if not invoices:
            return html_pane(f"<p class='muted'>{esc(self.t('inv.none'))}</p>")
        rows = [[i.invoice_number, date(i.issued_at), money(i.total_amount, i.currency)]
                for i in invoices]
        return html_pane(table([self.t("inv.number"), self.t("inv.date"), self.t("inv.total")],
                               rows), css_classes=["fx-recent-invoices"])
