"""Change plan: the other plans, the API's preview of a change (charged or credited today,
from when, the renewal price, tax included), and confirming it. An upgrade with money due goes
straight to paying its proration order; a downgrade is scheduled for the period end."""

from __future__ import annotations

from typing import Any

import panel as pn

from fluxus_ui.i18n import date, money
from fluxus_ui.models import Plan, Subscription
from fluxus_ui.pages import View
from fluxus_ui.pages.gateway import GatewayRedirect
from fluxus_ui.stores.plan_change import PlanChange, PlanChangeStore, Quote
from fluxus_ui.template import (
    ScrollIntoView,
    button,
    definition_list,
    esc,
    heading,
    html_pane,
)

METHODS = ("credit_card", "atm", "cvs", "barcode")


class ChangePlanView(View):
    name = "change-plan"

    async def render(self, **params: Any) -> pn.viewable.Viewable:
        billing = self.app.billing
        await billing.load_account()
        sub = billing.subscription(str(params.get("subscription_id", "")))
        if sub is None:
            return html_pane(f"<p>{esc(self.t('error.not_found'))}</p>")
        self.store = PlanChangeStore(self.app.client)
        current = billing.plan(sub.plan_id)
        self.quote_area = pn.Column(sizing_mode="stretch_width", css_classes=["fx-change-area"])
        parts: list[Any] = [heading(self.t("change.title", plan=current.name if current
                                           else "—"))]
        if current is not None:
            parts.append(html_pane(f"<p class='muted'>{esc(self.t('change.current'))}: "
                                   f"{esc(self._priced(current))}</p>"))
        if sub.status != "active" or sub.cancel_at_period_end:
            parts.append(html_pane(f"<p>{esc(self.t('change.not_changeable'))}</p>"))
            return self._page(parts)
        others = [p for p in await billing.load_plans()
                  if p.id != sub.plan_id and (current is None or p.currency == current.currency)]
        if not others:
            parts.append(html_pane(f"<p class='muted'>{esc(self.t('change.none'))}</p>"))
        parts.append(pn.FlexBox(*[self._card(sub, p) for p in others], flex_wrap="wrap",
                                gap="12px", sizing_mode="stretch_width"))
        parts.append(self.quote_area)
        chosen = next((p for p in others if p.slug == params.get("plan")), None)
        if chosen is not None:  # came from the plans page: the plan the customer picked there
            self.app.spawn(self._preview, sub, chosen)
        return self._page(parts)

    def _page(self, parts: list[Any]) -> pn.Column:
        return pn.Column(*parts, sizing_mode="stretch_width", styles={"max-width": "900px"},
                         css_classes=["fx-page-change-plan"])

    def _priced(self, plan: Plan) -> str:
        return f"{plan.name} · {money(plan.price, plan.currency)} " \
               f"{self.t(f'cycle.{plan.billing_cycle}')}"

    def _card(self, sub: Subscription, plan: Plan) -> pn.Column:
        features = "".join(f"<li>{esc(f)}</li>" for f in plan.features[:4])
        body = (f"<div class='card'><h3 style='margin:0 0 6px'>{esc(plan.name)}</h3>"
                f"<div class='price'>{esc(money(plan.price, plan.currency))} <span class='muted'"
                f" style='font-size:14px'>{esc(self.t(f'cycle.{plan.billing_cycle}'))}</span>"
                f"</div><ul class='features'>{features}</ul></div>")
        see = button(self.t("change.see"), lambda _e: self.app.spawn(self._preview, sub, plan),
                     "primary", name=f"change-to-{plan.slug}", sizing_mode="stretch_width")
        return pn.Column(html_pane(body), see, width=250, min_width=220,
                         css_classes=[f"fx-change-plan-{plan.slug}"])

    async def _preview(self, sub: Subscription, plan: Plan) -> None:
        self.quote_area.loading = True
        try:
            quote = await self.app.guarded(lambda: self.store.preview(sub.id, plan.id))
        finally:
            self.quote_area.loading = False
        if quote is None:
            return
        method = pn.widgets.RadioButtonGroup(
            name=self.t("change.method"), options={self.method(m): m for m in METHODS},
            value="credit_card", css_classes=["fx-change-method"], button_type="light",
            sizing_mode="stretch_width", visible=quote.requires_payment)
        label = (self.t("change.confirm_pay", amount=money(quote.amount_due, plan.currency))
                 if quote.requires_payment else self.t("change.confirm"))
        go: pn.widgets.Button = button(
            label, lambda _e: self.app.spawn(self._apply, sub, plan, quote, method.value, go),
            "success", name="change-confirm")
        self.quote_area.objects = [
            ScrollIntoView(), heading(plan.name),
            html_pane(quote_card(self.t, quote, plan), css_classes=["fx-change-quote"]),
            method, go]

    async def _apply(self, sub: Subscription, plan: Plan, quote: Quote, method: str,
                     go: Any) -> None:
        go.disabled = True
        change = await self.app.guarded(lambda: self.store.apply(sub.id, quote, method))
        if change is None:
            go.disabled = False
            return
        await self._after(sub, plan, change)

    async def _after(self, sub: Subscription, plan: Plan, change: PlanChange) -> None:
        if change.status == "awaiting_payment" and change.order_id:
            form = await self.app.guarded(lambda: self.app.client.checkout_form(change.order_id))
            if form is not None:
                self.quote_area.objects = [
                    html_pane(f"<p>{esc(self.t('change.pay_to_switch', plan=plan.name))}</p>"),
                    GatewayRedirect.for_form(form, self.t("plans.continue"))]
            return
        await self.app.go("subscription", subscription_id=sub.id)
        if change.status == "scheduled":
            text = self.t("change.scheduled_done", plan=plan.name, date=date(change.effective_at))
        else:
            text = self.t("change.applied", plan=plan.name)
        self.app.shell.flash(text, "success")


def quote_card(t: Any, quote: Quote, plan: Plan) -> str:
    """What changes, in the customer's words: today's money first, then the lines behind it."""
    cur = plan.currency
    if quote.requires_payment:
        today = t("change.due_today", amount=money(quote.amount_due, cur),
                  tax=money(quote.tax, cur))
    elif quote.policy == "immediate" and quote.net < 0:
        today = t("change.credited_today", amount=money(-quote.net, cur))
    else:
        today = t("change.nothing_today")
    rows: list[tuple[str, str]] = []
    if quote.policy == "immediate":
        days = quote.remaining_days
        rows += [(t("change.credit_line", days=days), f"−{money(quote.credit, cur)}"),
                 (t("change.charge_line", days=days), money(quote.charge, cur))]
        if quote.credit_balance_used:
            rows.append((t("change.balance_used"), f"−{money(quote.credit_balance_used, cur)}"))
    if quote.policy == "end_of_term":
        when = t("change.effective_end", date=date(quote.effective_at))
    elif quote.requires_payment:
        when = t("change.effective_paid")
    else:
        when = t("change.effective_now")
    rows += [(t("change.effective"), when),
             (t("change.renewal"), f"{money(plan.price, cur)} {t(f'cycle.{plan.billing_cycle}')}")]
    kind = t("change.upgrade" if quote.upgrade else "change.downgrade")
    return (f"<div class='card'><p class='fx-change-kind muted'>{esc(kind)}</p>"
            f"<p class='fx-change-today'><b>{esc(today)}</b></p>{definition_list(rows)}</div>")
