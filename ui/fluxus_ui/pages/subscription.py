"""One subscription: its state, period, next charge and card agreement, paying what is due,
and cancelling with a confirmation that says what happens to the paid period and the money."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import panel as pn

from fluxus_ui.i18n import date, money
from fluxus_ui.models import Subscription
from fluxus_ui.pages import View
from fluxus_ui.pages.scheduled_change import change_plan_actions, open_change_notice
from fluxus_ui.routes import url_for
from fluxus_ui.stores.insights import next_renewal
from fluxus_ui.template import badge, button, definition_list, esc, heading, html_pane

PAYABLE = ("pending", "trial", "past_due")


def paid_until(sub: Subscription) -> datetime | None:
    return sub.end_date or sub.trial_end_date


class SubscriptionFacts:
    """What a customer reads about one subscription, in their language."""

    def __init__(self, view: View) -> None:
        self.view = view
        self.billing = view.app.billing

    def rows(self, sub: Subscription) -> list[tuple[str, str]]:
        t = self.view.t
        plan = self.billing.plan(sub.plan_id) or sub.plan
        period = (f"{date(sub.start_date)} – {date(sub.end_date)}" if sub.start_date
                  else t("sub.no_period"))
        rows = [(t("dash.plan"), plan.name if plan else "—"), (t("dash.period"), period)]
        if sub.status == "trial" and sub.trial_end_date:
            rows.append((t("sub.trial_until"), date(sub.trial_end_date)))
        rows.append((t("sub.next_charge"), self.next_charge(sub)))
        agreement = (t(f"agreement.{sub.card_agreement}") if sub.card_agreement
                     else t("sub.no_agreement"))
        rows.append((t("acct.card_agreement"), agreement))
        return rows

    def next_charge(self, sub: Subscription) -> str:
        t = self.view.t
        plan = self.billing.plan(sub.plan_id) or sub.plan
        if sub.status in ("cancelled", "expired"):
            return t("sub.no_charge")
        if sub.cancel_at_period_end or not sub.auto_renew:
            return t("sub.ends_on", date=date(paid_until(sub)))
        when = next_renewal(sub)
        if plan is None or when is None:
            return "—"
        how = t("sub.by_card") if sub.card_agreement == "active" else t("sub.by_order")
        return t("sub.charge", amount=money(plan.price, plan.currency), date=date(when),
                 method=how)

    def card(self, sub: Subscription, *actions: Any) -> pn.Column:
        plan = self.billing.plan(sub.plan_id) or sub.plan
        slug = plan.slug if plan else sub.id[:8]
        status = f"<p>{badge(sub.status, self.view.status(sub.status))}</p>"
        body = html_pane(f'<div class="card">{status}{definition_list(self.rows(sub))}</div>')
        return pn.Column(body, pn.FlexBox(*actions, flex_wrap="wrap"),
                         sizing_mode="stretch_width",
                         css_classes=["fx-subscription", f"fx-sub-{slug}"])


class SubscriptionView(View):
    name = "subscription"

    async def render(self, **params: Any) -> pn.viewable.Viewable:
        await self.app.billing.load_account()
        sub = self.app.billing.subscription(str(params.get("subscription_id", "")))
        if sub is None:
            return html_pane(f"<p>{esc(self.t('error.not_found'))}</p>")
        facts = SubscriptionFacts(self)
        self.confirm_area = pn.Column(sizing_mode="stretch_width")
        actions = [*pay_actions(self, sub), *change_plan_actions(self, sub), *self._renewal(sub)]
        plan = self.app.billing.plan(sub.plan_id)
        return pn.Column(heading(plan.name if plan else self.t("acct.subscription")),
                         facts.card(sub, *actions), *await open_change_notice(self, sub),
                         self.confirm_area,
                         sizing_mode="stretch_width", styles={"max-width": "720px"},
                         css_classes=["fx-page-subscription"])

    def _renewal(self, sub: Subscription) -> list[Any]:
        if sub.status in ("cancelled", "expired"):
            return []
        out: list[Any] = []
        if sub.auto_renew:
            out.append(button(self.t("acct.cancel_end"),
                              lambda _e: self.app.spawn(self._cancel, sub, True),
                              "warning", name="cancel-end"))
        else:
            out.append(button(self.t("acct.renew_on"),
                              lambda _e: self.app.spawn(self._renew_on, sub),
                              "success", name="renew-on"))
        out.append(button(self.t("acct.cancel_now"), lambda _e: self._ask_cancel(sub),
                          "danger", name="cancel-now"))
        return out

    def _ask_cancel(self, sub: Subscription) -> None:
        """Say what cancelling now does to the paid period and the money, then ask."""
        self.confirm_area.objects = cancel_confirmation(
            self, sub, lambda: self.app.spawn(self._cancel, sub, False),
            lambda: setattr(self.confirm_area, "objects", []))

    async def _renew_on(self, sub: Subscription) -> None:
        if await self.app.guarded(lambda: self.app.billing.set_auto_renew(sub, True)):
            await self.app.go(self.name, subscription_id=sub.id)
            self.app.shell.flash(self.t("acct.cancelled"), "success")

    async def _cancel(self, sub: Subscription, at_period_end: bool) -> None:
        if await self.app.guarded(lambda: self.app.billing.cancel(sub, at_period_end)):
            await self.app.go(self.name, subscription_id=sub.id)
            self.app.shell.flash(self.t("sub.cancelled_now" if not at_period_end
                                        else "acct.cancelled"), "success")


def cancel_confirmation(view: View, sub: Subscription, yes: Any, no: Any) -> list[Any]:
    t = view.t
    until = paid_until(sub)
    if sub.status == "active" and until is not None:
        text = t("sub.confirm_paid", date=date(until))
    elif sub.status == "trial":
        text = t("sub.confirm_trial")
    else:
        text = t("sub.confirm_unpaid")
    return [pn.pane.Alert(f"**{esc(t('sub.confirm_title'))}**\n\n{esc(text)}",
                          alert_type="danger", sizing_mode="stretch_width",
                          css_classes=["fx-cancel-warning"]),
            pn.FlexBox(button(t("sub.confirm_yes"), lambda _e: yes(), "danger",
                              name="cancel-confirm"),
                       button(t("sub.confirm_no"), lambda _e: no(), "light",
                              name="cancel-keep"), flex_wrap="wrap")]


def pay_actions(view: View, sub: Subscription) -> list[Any]:
    """"Pay now" (or "retry") for what the subscription owes: its open order's page, where
    each press starts a new payment attempt; or checkout when nothing was ordered yet."""
    billing = view.app.billing
    if sub.status not in PAYABLE or (sub.status == "trial" and sub.end_date is not None):
        return []
    order = billing.open_order(sub)
    if order is not None:
        label = "orders.retry" if order.failure_reason else "orders.pay_now"
        return [button(view.t(label), lambda _e: view.app.navigate("orders", order_id=order.id),
                       "primary", name=f"pay-{sub.id[:8]}")]
    plan = billing.plan(sub.plan_id)
    if plan is None:
        return []
    target = url_for("plans", {"plan": plan.slug})
    return [button(view.t("orders.pay_now"), lambda _e: view.app.spawn(view.app.open_url, target),
                   "primary", name=f"pay-{sub.id[:8]}")]
