"""Plan cards, a payment method, the order's e-invoice, and check-out through the gateway."""

from __future__ import annotations

from typing import Any

import panel as pn

from fluxus_ui.errors import ApiError
from fluxus_ui.i18n import date, money
from fluxus_ui.models import Plan
from fluxus_ui.pages import View
from fluxus_ui.pages.gateway import GatewayRedirect
from fluxus_ui.pages.order_invoice import OrderInvoice
from fluxus_ui.routes import url_for
from fluxus_ui.stores.checkout_terms import terms
from fluxus_ui.template import ScrollIntoView, button, esc, heading, html_pane

METHODS = ("credit_card", "atm", "cvs", "barcode")
COUPON_REFUSALS = ("coupon_unknown", "coupon_expired", "coupon_exhausted", "coupon_not_for_plan")


class PlansView(View):
    name = "plans"
    needs_login = False

    async def render(self, **params: Any) -> pn.viewable.Viewable:
        plans = await self.app.billing.load_plans()
        self.checkout_area = pn.Column(sizing_mode="stretch_width",
                                       css_classes=["fx-checkout-area"])
        if not plans:
            cards: Any = html_pane(f"<p>{esc(self.t('plans.none'))}</p>")
        else:
            cards = pn.FlexBox(*[self._card(p) for p in plans], flex_wrap="wrap",
                               gap="12px", sizing_mode="stretch_width")
        chosen = next((p for p in plans if p.slug == params.get("plan")), None)
        # A bookmark, or back from logging in: check out, or change plan for a subscriber.
        if (chosen is not None and self.app.auth.logged_in
                and not await self._send_to_plan_change(chosen)):
            await self._open_checkout(chosen)
        return pn.Column(heading(self.t("plans.title")), cards, self.checkout_area,
                         sizing_mode="stretch_width", css_classes=["fx-page-plans"])

    def _card(self, plan: Plan) -> pn.Column:
        cycle = self.t(f"cycle.{plan.billing_cycle}")
        badge = f'<span class="pill">{esc(self.t("plans.popular"))}</span>' if plan.is_popular \
            else ""
        trial = (f"<p class='muted'>{esc(self.t('plans.trial', days=plan.trial_days))}</p>"
                 if plan.trial_days else "")
        features = "".join(f"<li>{esc(f)}</li>" for f in plan.features)
        body = (
            f'<div class="card{" popular" if plan.is_popular else ""}">'
            f"<h3 style='margin:0 0 6px'>{esc(plan.name)} {badge}</h3>"
            f'<div class="price">{esc(money(plan.price, plan.currency))}'
            f' <span class="muted" style="font-size:14px">{esc(cycle)}</span></div>'
            f"{trial}<p class='muted'>{esc(plan.description)}</p>"
            f'<ul class="features">{features}</ul></div>'
        )
        choose = button(self.t("plans.choose"), lambda _e: self._choose(plan), "primary",
                        name=f"choose-{plan.slug}", sizing_mode="stretch_width")
        return pn.Column(html_pane(body), choose, width=250, min_width=220,
                         css_classes=[f"fx-plan-{plan.slug}"])

    def _choose(self, plan: Plan) -> None:
        if not self.app.auth.logged_in:
            # After logging in the visitor comes back to this plan's checkout.
            self.app.navigate("login", next=url_for("plans", {"plan": plan.slug}))
            return
        self.app.spawn(self._choose_as_customer, plan)

    async def _choose_as_customer(self, plan: Plan) -> None:
        if not await self._send_to_plan_change(plan):
            self.app.navigate("plans", plan=plan.slug)  # its own URL: refresh keeps checkout

    async def _send_to_plan_change(self, plan: Plan) -> bool:
        """One subscription per customer is the normal state: a subscriber choosing another
        plan changes plan (with proration) instead of buying a second subscription (the API
        still allows two, for multi-workspace customers)."""
        await self.app.guarded(self.app.billing.load_account)
        current = self.app.billing.changeable_subscription()
        if current is None or current.plan_id == plan.id:
            return False
        self.app.navigate("change-plan", subscription_id=current.id, plan=plan.slug)
        return True

    async def _open_checkout(self, plan: Plan) -> None:
        await self.app.guarded(self.app.billing.load_account)  # for the one-trial rule
        account = await self.app.guarded(self.app.billing.account)
        if account is None:
            return
        invoice = OrderInvoice(self.t, account)
        method = pn.widgets.RadioButtonGroup(
            name=self.t("plans.method"), options={self.method(m): m for m in METHODS},
            value="credit_card", css_classes=["fx-method"], button_type="light",
            sizing_mode="stretch_width",
        )
        self.coupon = pn.widgets.TextInput(name=self.t("plans.coupon"), max_length=40,
                                           css_classes=["fx-coupon"], width=240)
        self.coupon_error = html_pane("", css_classes=["fx-error-coupon"],
                                      styles={"color": "#b42318", "font-size": "13px"})
        go: pn.widgets.Button = button(
            self.t("plans.checkout"), lambda _e: self.app.spawn(self._checkout, plan, method, go),
            "success", name="checkout",
        )
        self.invoice = invoice
        had_trial, now = self.app.billing.had_trial(plan), self.app.billing.now()
        summary = html_pane(checkout_summary(self.t, plan, had_trial, now, method.value),
                            css_classes=["fx-checkout-summary"])
        # Card payments renew through ECPay's recurring agreement; the others by new orders.
        method.param.watch(lambda e: setattr(summary, "object", checkout_summary(
            self.t, plan, had_trial, now, e.new)), "value")
        self.checkout_area.objects = [
            ScrollIntoView(),
            heading(f"{plan.name} — {money(plan.price, plan.currency)}"),
            summary,
            html_pane(f"<b>{esc(self.t('plans.method'))}</b>"), method, invoice.layout(),
            self.coupon, self.coupon_error, go,
        ]

    def _refused(self, exc: ApiError) -> None:
        if self.invoice.takes(exc):
            return
        if exc.code in COUPON_REFUSALS:  # said beside the code the customer typed
            self.coupon_error.object = esc(self.t(f"coupon.{exc.code}"))
            return
        if exc.code == "already_subscribed":
            self.app.shell.flash(self.t("plans.already"), "warning")
        else:
            self.app.shell.flash(self.t("error.generic", message=exc.message), "danger")

    async def _checkout(self, plan: Plan, method: pn.widgets.Widget, go: Any) -> None:
        go.disabled = True
        self.checkout_area.loading = True
        self.coupon_error.object = ""
        code = str(self.coupon.value_input or self.coupon.value or "").strip() or None
        try:
            result = await self.app.guarded(
                lambda: self.app.billing.checkout(plan, method.value, self.invoice.choice(),
                                                  coupon_code=code),
                on_error=self._refused,
            )
        finally:
            self.checkout_area.loading = False
        if result is None:
            go.disabled = False
            return
        order, form = result
        if form is None:  # the coupon (or credit) paid it all: no gateway
            await self.app.go("orders", order_id=order.id)
            self.app.shell.flash(self.t("plans.paid_without_gateway"), "success")
            return
        self.checkout_area.objects = [
            html_pane(f"<p>{esc(self.t('plans.redirecting'))}</p>"),
            GatewayRedirect.for_form(form, self.t("plans.continue")),
        ]


def checkout_summary(t: Any, plan: Plan, had_trial: bool, now: Any, method: str) -> str:
    """Charged today, the period it pays for, the tax in it, the trial and its end, and how
    it renews with this payment method."""
    deal = terms(plan, had_trial, now)
    lines = [t("checkout.today", amount=money(deal.charge, plan.currency)),
             t("checkout.tax", tax=money(deal.tax, plan.currency)),
             t("checkout.period", start=date(deal.period_start), end=date(deal.period_end))]
    if deal.trial_end is not None:
        lines.append(t("checkout.trial", days=plan.trial_days, date=date(deal.trial_end)))
    # A card agreement is signed only after the trial (ECPay charges one when it is signed).
    renews = ("checkout.renews_order" if method != "credit_card"
              else "checkout.renews_card" if deal.trial_end is None
              else "checkout.renews_card_after_trial")
    lines.append(t(renews, amount=money(deal.charge, plan.currency),
                   cycle=t(f"cycle.{plan.billing_cycle}")))
    items = "".join(f"<li>{esc(line)}</li>" for line in lines)
    return f'<div class="card"><ul class="features">{items}</ul></div>'
