"""The customer's overview: plan, period, renewal, money paid, what needs action."""

from __future__ import annotations

from typing import Any

import panel as pn

from fluxus_ui.i18n import date, money
from fluxus_ui.models import Subscription
from fluxus_ui.pages import View
from fluxus_ui.pages.subscription import SubscriptionFacts, pay_actions
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
        """Every subscription, live ones first: each with its own next charge and actions."""
        subs = self.app.billing.subscriptions
        if not any(s.is_live for s in subs):
            return pn.Column(
                html_pane(f"<p>{esc(self.t('dash.no_subscription'))}</p>"),
                button(self.t("dash.choose_plan"), lambda _e: self.app.navigate("plans"),
                       "primary", name="choose-plan"),
            )
        facts = SubscriptionFacts(self)
        cards: list[Any] = []
        for sub in sorted(subs, key=lambda s: (not s.is_live, s.status)):
            if not sub.is_live:
                continue
            manage = button(self.t("sub.manage"),
                            lambda _e, i=sub.id: self.app.navigate("subscription",
                                                                   subscription_id=i),
                            "light", name=f"manage-{sub.id[:8]}")
            cards.append(facts.card(sub, *pay_actions(self, sub), manage))
        ended = [s for s in subs if not s.is_live]
        if ended:
            rows = [[esc(self._plan_name(s)), badge(s.status, self.status(s.status)),
                     esc(date(s.end_date))] for s in ended]
            cards.append(html_pane(
                f"<h3>{esc(self.t('dash.ended'))}</h3>"
                + table([self.t("dash.plan"), self.t("dash.status"), self.t("col.end")], rows,
                        raw=True), css_classes=["fx-ended-subscriptions"]))
        return pn.Column(*cards, sizing_mode="stretch_width", css_classes=["fx-subscriptions"])

    def _plan_name(self, sub: Subscription) -> str:
        plan = self.app.billing.plan(sub.plan_id) or sub.plan
        return plan.name if plan else "—"

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
