"""On a subscription's page: "change plan", and the open change (a downgrade scheduled for the
period end, or an upgrade waiting for its payment) with a button that withdraws it."""

from __future__ import annotations

from typing import Any

import panel as pn

from fluxus_ui.i18n import date
from fluxus_ui.models import Subscription
from fluxus_ui.pages import View
from fluxus_ui.stores.plan_change import PlanChange, PlanChangeStore
from fluxus_ui.template import button, esc, html_pane


def change_plan_actions(view: View, sub: Subscription) -> list[Any]:
    """Only an active, paid subscription that goes on can change plan (as the API says)."""
    if sub.status != "active" or sub.cancel_at_period_end:
        return []
    return [button(view.t("change.button"),
                   lambda _e: view.app.navigate("change-plan", subscription_id=sub.id),
                   "primary", name="change-plan")]


async def open_change_notice(view: View, sub: Subscription) -> list[Any]:
    if sub.status in ("cancelled", "expired"):
        return []
    store = PlanChangeStore(view.app.client)
    change = await view.app.guarded(lambda: store.open_change(sub.id))
    if change is None or change.status not in ("scheduled", "awaiting_payment"):
        return []
    return [_notice(view, sub, change, store)]


def _notice(view: View, sub: Subscription, change: PlanChange,
            store: PlanChangeStore) -> pn.Column:
    t = view.t
    plan = view.app.billing.plan(change.to_plan_id)
    name = plan.name if plan else "—"
    if change.status == "scheduled":
        text = t("change.scheduled_text", plan=name, date=date(change.effective_at))
    else:
        text = t("change.awaiting_text", plan=name)
    actions: list[Any] = []
    if change.status == "awaiting_payment" and change.order_id:
        actions.append(button(t("orders.pay_now"),
                              lambda _e: view.app.navigate("orders", order_id=change.order_id),
                              "primary", name="change-pay"))

    async def withdraw() -> None:
        if await view.app.guarded(lambda: store.cancel(sub.id)):
            await view.app.go("subscription", subscription_id=sub.id)
            view.app.shell.flash(t("change.cancelled"), "success")

    actions.append(button(t("change.cancel_scheduled"), lambda _e: view.app.spawn(withdraw),
                          "warning", name="cancel-scheduled-change"))
    body = html_pane(f"<div class='card'><h3 style='margin:0 0 6px'>"
                     f"{esc(t('change.scheduled'))}</h3><p>{esc(text)}</p></div>")
    return pn.Column(body, pn.FlexBox(*actions, flex_wrap="wrap"), sizing_mode="stretch_width",
                     css_classes=["fx-scheduled-change"])
