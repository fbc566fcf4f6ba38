"""Account recovery: ask for a reset link, set a new password from it, verify the e-mail.

The e-mailed links open /reset-password?token=… and /verify-email?token=… here.
"""

from __future__ import annotations

from typing import Any

import panel as pn

from fluxus_ui.errors import ApiError
from fluxus_ui.pages import View
from fluxus_ui.pages.auth import FieldForm, SubmitPasswordInput
from fluxus_ui.routes import url_for
from fluxus_ui.template import button, esc, heading, html_pane


def _page(title: str, *items: Any, css: str) -> pn.Column:
    return pn.Column(heading(title), *items, sizing_mode="stretch_width",
                     styles={"max-width": "420px"}, css_classes=[css])


class ForgotView(View):
    name = "forgot"
    needs_login = False

    async def render(self, **params: Any) -> pn.viewable.Viewable:
        form = FieldForm({"email": pn.widgets.TextInput(
            name=self.t("register.email"), css_classes=["fx-forgot-email"],
            sizing_mode="stretch_width")})

        async def send(_event: Any) -> None:
            self.app.shell.clear_messages()
            if not form.value("email"):
                form.show({"email": self.t("error.required")})
                return
            form.clear()
            done = await self.app.guarded(
                lambda: self._send(form.value("email").strip()),
                on_error=lambda exc: form.show(exc.field_errors(self.t),
                                               "" if exc.errors else exc.message))
            if done:
                # The same answer for any address: it must not tell who has an account.
                self.app.shell.flash(self.t("recover.sent"), "success")

        form.submit_on_enter(send, self.app.spawn)
        return _page(self.t("recover.forgot_title"),
                     html_pane(f"<p class='muted'>{esc(self.t('recover.forgot_intro'))}</p>"),
                     *form.layout(),
                     button(self.t("recover.send"), send, "primary", name="forgot-submit"),
                     css="fx-page-forgot")

    async def _send(self, email: str) -> bool:
        await self.app.client.request_password_reset(email)
        return True


class ResetView(View):
    name = "reset"
    needs_login = False

    async def render(self, **params: Any) -> pn.viewable.Viewable:
        token = str(params.get("token") or "")
        if not token:
            return self._bad_link()
        form = FieldForm({
            "password": SubmitPasswordInput(name=self.t("acct.new_password"),
                                            css_classes=["fx-reset-password"],
                                            sizing_mode="stretch_width"),
            "password2": SubmitPasswordInput(name=self.t("register.password2"),
                                             css_classes=["fx-reset-password2"],
                                             sizing_mode="stretch_width"),
        })

        async def submit(_event: Any) -> None:
            self.app.shell.clear_messages()
            form.clear()
            # The API checks the confirmation too and answers every problem at once; an
            # empty box never resets (the API refuses it), so the call is always made.
            missing = {n: self.t("error.required") for n in form.fields if not form.value(n)}

            def refused(exc: ApiError) -> None:
                general = "" if exc.errors else self.t("recover.link_invalid")
                form.show({**(exc.field_errors(self.t) if exc.status == 422 else {}),
                           **missing}, general)

            done = await self.app.guarded(
                lambda: self._reset(token, form.value("password"), form.value("password2")),
                on_error=refused)
            if done:
                await self.app.go("login", replace=True)
                self.app.shell.flash(self.t("recover.reset_done"), "success")

        form.submit_on_enter(submit, self.app.spawn)
        return _page(self.t("recover.reset_title"), *form.layout(),
                     button(self.t("recover.reset_submit"), submit, "primary",
                            name="reset-submit"), css="fx-page-reset")

    async def _reset(self, token: str, password: str, confirm: str) -> bool:
        await self.app.client.reset_password(token, password, confirm)
        return True

    def _bad_link(self) -> pn.Column:
        return _page(self.t("recover.reset_title"),
                     html_pane(f"<p class='fx-error'>{esc(self.t('recover.link_invalid'))}</p>"),
                     button(self.t("recover.forgot_title"),
                            lambda _e: self.app.navigate("forgot"), "light", name="to-forgot"),
                     css="fx-page-reset")


class VerifyView(View):
    name = "verify"
    needs_login = False

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        # A token is spent once; the page drawn again (another language) keeps its outcome.
        self.outcomes: dict[str, bool] = {}

    async def render(self, **params: Any) -> pn.viewable.Viewable:
        token = str(params.get("token") or "")
        outcome: list[bool] = []

        def refused(_exc: ApiError) -> None:
            outcome.append(False)

        if token and token not in self.outcomes:
            await self.app.guarded(lambda: self._verify(token, outcome), on_error=refused)
            self.outcomes[token] = bool(outcome) and outcome[0]
        if token:
            # The spent token leaves the address bar and history (it is useless, but a URL
            # with a token in it gets copied and shared).
            self.app.urlbar.set_url(url_for(self.name), replace=True)
        ok = self.outcomes.get(token, False)
        text = self.t("recover.verified") if ok else self.t("recover.verify_failed")
        level = "success" if ok else "warning"
        go = ("dashboard", "nav.dashboard") if self.app.auth.logged_in else ("login", "nav.login")
        return _page(self.t("recover.verify_title"),
                     pn.pane.Alert(text, alert_type=level, sizing_mode="stretch_width",
                                   css_classes=[f"fx-verify-{'ok' if ok else 'failed'}"]),
                     button(self.t(go[1]), lambda _e: self.app.navigate(go[0]), "primary",
                            name="verify-continue"), css="fx-page-verify")

    async def _verify(self, token: str, outcome: list[bool]) -> None:
        await self.app.client.verify_email(token)
        outcome.append(True)
