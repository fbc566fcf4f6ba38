"""Staff actions on a customer's page. Each opens a small form under its button, asks for a
confirmation that says what will happen, then calls the API's own endpoint; the API's error
message is shown in the form. Money-moving forms carry one Idempotency-Key for their life, so
a retry after a lost answer cannot refund twice."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import panel as pn

from fluxus_ui.errors import ApiError
from fluxus_ui.i18n import date, money
from fluxus_ui.models import Subscription, parse_money, parse_time
from fluxus_ui.pages.auth import FieldForm
from fluxus_ui.stores.customers import CANCEL_CHOICES, History, new_key
from fluxus_ui.template import button, esc, html_pane

if TYPE_CHECKING:
    from fluxus_ui.pages import View


class ActionPanel:
    def __init__(self, view: View, found: History) -> None:
        self.view, self.found, self.app = view, found, view.app
        self.flash_area = pn.Column(sizing_mode="stretch_width")

    def t(self, key: str, **values: object) -> str:
        return self.view.t(key, **values)

    # --- one pattern for every action -------------------------------------------------------
    def _action(self, label: str, name: str, form: FieldForm | None,
                question: Callable[[], str], act: Callable[[], Awaitable[str]],
                check: Callable[[], bool] = lambda: True) -> pn.Column:
        area = pn.Column(sizing_mode="stretch_width", styles={"max-width": "620px"})
        holder = pn.Column(sizing_mode="stretch_width")

        async def done() -> None:
            message = await self.app.guarded(act, on_error=lambda exc: self._failed(form, exc,
                                                                                    prompt))
            if message is not None:
                await self.app.go(self.view.name, user_id=self.found.user.id)
                self.app.shell.flash(message, "success")

        prompt = html_pane("", css_classes=["fx-action-error"])
        confirm = button(self.t("cust.confirm"), lambda _e: self.app.spawn(done), "danger",
                         name=f"{name}-confirm")
        back = button(self.t("cust.back_out"), lambda _e: close(), "light",
                      name=f"{name}-back")
        question_pane = html_pane("", css_classes=[f"fx-{name}-question"])

        def ask(_event: Any) -> None:
            if form is not None:
                form.clear()
            if not check():
                return
            question_pane.object = f"<p><b>{esc(question())}</b></p>"
            holder.objects = [question_pane, pn.Row(confirm, back)]

        def open_form(_event: Any) -> None:
            fields = form.layout() if form is not None else []
            holder.objects = []
            if form is None:
                ask(None)
            area.objects = [*fields, holder, prompt] if form is None else [
                *fields, button(self.t("cust.next_step"), ask, "primary", name=f"{name}-next"),
                holder, prompt]

        def close() -> None:
            area.objects, holder.objects, prompt.object = [], [], ""

        return pn.Column(button(label, open_form, "light", name=name), area,
                         sizing_mode="stretch_width")

    def _failed(self, form: FieldForm | None, exc: ApiError, prompt: pn.pane.HTML) -> None:
        if form is not None:
            form.show(exc.errors, exc.message)
        prompt.object = f"<p style='color:#b42318'>{esc(exc.message)}</p>"

    # --- the actions --------------------------------------------------------------------------
    def refund_button(self, order: dict[str, Any], refunded: Decimal) -> pn.Column:
        left = parse_money(order["amount"]) - refunded
        key = new_key()  # one per form: every try of this form is the same refund
        form = FieldForm({
            "amount": pn.widgets.TextInput(name=self.t("cust.refund_amount", most=money(left)),
                                           value=str(left), css_classes=["fx-refund-amount"]),
            "reason": pn.widgets.TextInput(name=self.t("cust.refund_reason"),
                                           css_classes=["fx-refund-reason"]),
            "cancel_subscription": pn.widgets.Select(
                name=self.t("cust.refund_cancel"),
                options={self.t(f"cust.cancel.{c}"): c for c in CANCEL_CHOICES},
                css_classes=["fx-refund-cancel"]),
        })

        def check() -> bool:
            if not form.value("reason").strip():
                form.show({"reason": self.t("error.required")})
                return False
            return True

        def question() -> str:
            return self.t("cust.refund_question", amount=f"NT${form.value('amount')}",
                          number=order["order_number"],
                          cancel=self.t(f"cust.cancel.{form.value('cancel_subscription')}"))

        async def act() -> str:
            placed = await self.app.customers.refund(
                order["id"], amount=form.value("amount").strip(),
                reason=form.value("reason").strip(),
                cancel=form.value("cancel_subscription"), key=key)
            return self.t("cust.refunded_ok", amount=money(parse_money(placed["amount"])),
                          status=self.t(f"cust.refund.{placed['status']}"))

        return self._action(self.t("cust.refund"), "refund", form, question, act, check)

    def confirm_button(self, refund: dict[str, Any]) -> pn.Column:
        form = FieldForm({"reference": pn.widgets.TextInput(
            name=self.t("cust.transfer_reference"), css_classes=["fx-transfer-reference"])})

        def check() -> bool:
            if not form.value("reference").strip():
                form.show({"reference": self.t("error.required")})
                return False
            return True

        def question() -> str:
            return self.t("cust.transfer_question",
                          amount=money(parse_money(refund["amount"])),
                          reference=form.value("reference").strip())

        async def act() -> str:
            await self.app.customers.confirm_refund(refund["id"],
                                                    form.value("reference").strip())
            return self.t("cust.transfer_ok")

        return self._action(self.t("cust.transfer_confirm"), "transfer", form, question, act,
                            check)

    def resend_button(self, invoice: dict[str, Any], kind: str) -> pn.Column:
        key = new_key()

        def question() -> str:
            return self.t(f"cust.resend_{kind}_question", number=invoice["invoice_number"],
                          email=self.found.user.email)

        async def act() -> str:
            recipient = await self.app.customers.resend(invoice["id"], kind, key)
            return self.t("cust.resent", email=recipient)

        return self._action(self.t(f"cust.resend_{kind}"), f"resend-{kind}", None, question,
                            act)

    def cancel_button(self, sub: Subscription) -> pn.Column:
        form = FieldForm({"when": pn.widgets.Select(
            name=self.t("cust.cancel_when"),
            options={self.t(f"cust.cancel.{c}"): c for c in CANCEL_CHOICES[1:]},
            css_classes=["fx-cancel-when"])})

        def question() -> str:
            return self.t("cust.cancel_question", plan=self.found.plan_name(sub.plan_id),
                          when=self.t(f"cust.cancel.{form.value('when')}"))

        async def act() -> str:
            await self.app.customers.cancel(sub.id,
                                            at_period_end=form.value("when") == "at_period_end")
            return self.t("cust.cancelled_ok")

        return self._action(self.t("cust.cancel_sub"), "staff-cancel", form, question, act)

    def extend_button(self, sub: Subscription) -> pn.Column:
        key = new_key()  # one per form: every try of this form is the same free period
        form = FieldForm({
            "days": pn.widgets.IntInput(name=self.t("cust.extend_days"), value=7, start=1,
                                        end=366, css_classes=["fx-extend-days"]),
            "reason": pn.widgets.TextInput(name=self.t("cust.extend_reason"),
                                           css_classes=["fx-extend-reason"]),
        })

        def check() -> bool:
            if not form.value("reason").strip():
                form.show({"reason": self.t("error.required")})
                return False
            return True

        def question() -> str:
            days = int(form.value("days") or 0)
            end = sub.end_date + timedelta(days=days) if sub.end_date else None
            return self.t("cust.extend_question", plan=self.found.plan_name(sub.plan_id),
                          days=days, end=date(end))

        async def act() -> str:
            done = await self.app.customers.extend(
                sub.id, days=int(form.value("days") or 0),
                reason=form.value("reason").strip(), key=key)
            return self.t("cust.extended_ok", end=date(parse_time(done["new_end_date"])))

        return self._action(self.t("cust.extend"), "extend", form, question, act, check)

    def resend_payment_button(self, order: dict[str, Any], kind: str) -> pn.Column:
        key = new_key()

        def question() -> str:
            return self.t(f"cust.resend_{kind}_question", number=order["order_number"],
                          email=self.found.user.email)

        async def act() -> str:
            recipient = await self.app.customers.resend_payment(order["id"], kind, key)
            return self.t("cust.resent", email=recipient)

        return self._action(self.t(f"cust.resend_{kind}"), f"resend-{kind}", None, question,
                            act)
