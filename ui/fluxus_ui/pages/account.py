"""Account: profile, invoice details, password, and the subscription's cancel and auto-renew
controls."""

from __future__ import annotations

from typing import Any

import panel as pn

from fluxus_ui.errors import ApiError
from fluxus_ui.i18n import date
from fluxus_ui.models import Subscription, User
from fluxus_ui.pages import View
from fluxus_ui.pages.auth import FieldForm
from fluxus_ui.pages.invoice_form import InvoiceForm
from fluxus_ui.pages.subscription import cancel_confirmation
from fluxus_ui.template import badge, button, definition_list, esc, heading, html_pane

PROFILE_FIELDS = (("first_name", "acct.first_name"), ("last_name", "acct.last_name"),
                  ("phone", "acct.phone"), ("company_name", "acct.company"),
                  ("tax_id", "acct.tax_id"))


class AccountView(View):
    name = "account"

    async def render(self, **params: Any) -> pn.viewable.Viewable:
        user = await self.app.client.me()
        await self.app.billing.load_account()
        profile = FieldForm({
            name: pn.widgets.TextInput(name=self.t(key), value=getattr(user, name),
                                       css_classes=[f"fx-{name}"], sizing_mode="stretch_width")
            for name, key in PROFILE_FIELDS
        })

        async def save(_event: Any) -> None:
            # The last save's "saved" must not stand above this one's refusal.
            self.app.shell.clear_messages()
            changes = {name: profile.value(name) for name, _ in PROFILE_FIELDS}
            saved = await self.app.guarded(
                lambda: self.app.client.update_user(user.id, **changes),
                on_error=lambda exc: profile.show(exc.field_errors(self.t), exc.message),
            )
            if saved is not None:
                profile.clear()
                self.app.shell.flash(self.t("acct.saved"), "success")

        info = html_pane(definition_list([(self.t("register.username"), user.username),
                                          (self.t("register.email"), user.email)]))
        return pn.Column(
            heading(self.t("acct.profile")), info, *profile.layout(),
            button(self.t("acct.save"), save, "primary", name="profile-save"),
            self._invoice(user, profile), self._password(), self._subscription(),
            sizing_mode="stretch_width", styles={"max-width": "640px"},
            css_classes=["fx-page-account"],
        )

    def _invoice(self, user: User, profile: FieldForm) -> pn.Column:
        form = InvoiceForm(self.t, user.invoice, user.email, prefix="fx-inv")

        async def save(_event: Any) -> None:
            self.app.shell.clear_messages()
            form.clear()
            saved = await self.app.guarded(
                lambda: self.app.client.update_user(user.id,
                                                    **form.preference().to_user_changes()),
                on_error=lambda exc: form.show_errors(exc.errors, self._invalid(exc)),
            )
            if saved is not None:
                # The API keeps 統編 and company name on the profile too: show what it kept.
                profile.fields["tax_id"].value = saved.tax_id
                profile.fields["company_name"].value = saved.company_name
                self.app.shell.flash(self.t("einv.saved"), "success")

        return pn.Column(
            heading(self.t("einv.section")),
            html_pane(f"<p class='muted'>{esc(self.t('einv.intro'))}</p>"), form.layout(),
            button(self.t("einv.save"), save, "primary", name="invoice-save"),
            sizing_mode="stretch_width", css_classes=["fx-invoice-settings"],
        )

    def _invalid(self, exc: ApiError) -> str:
        return self.t("einv.invalid") if exc.errors else exc.message

    def _password(self) -> pn.Column:
        form = FieldForm({
            "old_password": pn.widgets.PasswordInput(name=self.t("acct.old_password"),
                                                     css_classes=["fx-old-password"]),
            "password": pn.widgets.PasswordInput(name=self.t("acct.new_password"),
                                                 css_classes=["fx-new-password"]),
        })

        async def change(_event: Any) -> None:
            self.app.shell.clear_messages()
            done = await self.app.guarded(
                lambda: self._change_password(form.value("old_password"), form.value("password")),
                on_error=lambda exc: form.show(exc.field_errors(self.t),
                                               "" if exc.errors else exc.message),
            )
            if done:
                # The API revokes every refresh token on a password change: sign in again.
                self.app.auth.logout_locally()
                await self.app.go("login")
                self.app.shell.flash(self.t("acct.password_changed"), "success")

        return pn.Column(heading(self.t("acct.password")), *form.layout(),
                         button(self.t("acct.password"), change, "warning",
                                name="password-change"))

    async def _change_password(self, old: str, new: str) -> bool:
        await self.app.client.change_password(old, new)
        return True

    def _subscription(self) -> pn.Column:
        sub = self.app.billing.current
        if sub is None:
            return pn.Column()
        plan = self.app.billing.plan(sub.plan_id)
        rows = [(self.t("dash.plan"), plan.name if plan else "—"),
                (self.t("col.end"), date(sub.end_date))]
        if sub.cancel_at_period_end:
            rows.append((self.t("dash.next_renewal"),
                         self.t("acct.will_cancel", date=date(sub.end_date))))
        if sub.card_agreement:
            rows.append((self.t("acct.card_agreement"),
                         self.t(f"agreement.{sub.card_agreement}")))
        parts: list[Any] = [
            heading(self.t("acct.subscription")),
            html_pane(f"<p>{badge(sub.status, self.status(sub.status))}</p>"
                      f"{definition_list(rows)}", css_classes=["fx-account-subscription"]),
        ]
        # Turning auto-renew off is a cancel at period end; turning it on withdraws that.
        state = self.t("yes") if sub.auto_renew else self.t("no")
        parts.append(html_pane(definition_list([(self.t("dash.auto_renew"), state)]),
                               css_classes=["fx-auto-renew"]))
        renewal = (
            button(self.t("acct.renew_on"), lambda _e: self.app.spawn(self._renew_on, sub),
                   "success", name="renew-on")
            if not sub.auto_renew else
            button(self.t("acct.cancel_end"), lambda _e: self.app.spawn(self._cancel, sub, True),
                   "warning", name="cancel-end")
        )
        confirm = pn.Column(sizing_mode="stretch_width")

        def ask(_event: Any) -> None:
            confirm.objects = cancel_confirmation(
                self, sub, lambda: self.app.spawn(self._cancel, sub, False),
                lambda: setattr(confirm, "objects", []))

        parts.append(pn.FlexBox(
            renewal, button(self.t("acct.cancel_now"), ask, "danger", name="cancel-now"),
            flex_wrap="wrap",
        ))
        return pn.Column(*parts, confirm, *self._others(sub), sizing_mode="stretch_width")

    def _others(self, shown: Subscription) -> list[Any]:
        """The account's other live subscriptions, each to manage on its own page."""
        others = [s for s in self.app.billing.subscriptions if s.is_live and s.id != shown.id]
        links = []
        for sub in others:
            plan = self.app.billing.plan(sub.plan_id)
            label = f"{plan.name if plan else sub.id[:8]} · {self.status(sub.status)}"
            links.append(button(label, lambda _e, i=sub.id: self.app.navigate(
                "subscription", subscription_id=i), "light", name=f"other-{sub.id[:8]}"))
        if not links:
            return []
        return [html_pane(f"<h3>{esc(self.t('acct.other_subscriptions'))}</h3>"),
                pn.FlexBox(*links, flex_wrap="wrap", css_classes=["fx-other-subscriptions"])]

    async def _renew_on(self, sub: Subscription) -> None:
        done = await self.app.guarded(lambda: self.app.billing.set_auto_renew(sub, True))
        if done is not None:
            await self.app.go("account")
            self.app.shell.flash(self.t("acct.cancelled"), "success")

    async def _cancel(self, sub: Subscription, at_period_end: bool) -> None:
        done = await self.app.guarded(lambda: self.app.billing.cancel(sub, at_period_end))
        if done is not None:
            await self.app.go("account")
            self.app.shell.flash(self.t("acct.cancelled"), "success")
