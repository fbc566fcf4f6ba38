"""Log in and register, with each field's error shown right under it."""

from __future__ import annotations

from typing import Any

import panel as pn

from fluxus_ui.errors import ApiError
from fluxus_ui.pages import View
from fluxus_ui.template import button, esc, heading


class FieldForm:
    """Inputs with an error line under each, filled from the API's field errors."""

    def __init__(self, fields: dict[str, pn.widgets.Widget]) -> None:
        self.fields = fields
        self.errors = {
            name: pn.pane.HTML("", styles={"color": "#b42318", "font-size": "13px"},
                               margin=(0, 10), css_classes=[f"fx-error-{name}"])
            for name in fields
        }
        self.general = pn.pane.HTML("", styles={"color": "#b42318"}, css_classes=["fx-error"])

    def layout(self) -> list[Any]:
        items: list[Any] = []
        for name, widget in self.fields.items():
            items += [widget, self.errors[name]]
        return [*items, self.general]

    def clear(self) -> None:
        for pane in (*self.errors.values(), self.general):
            pane.object = ""

    def show(self, errors: dict[str, str], general: str = "") -> None:
        self.clear()
        unplaced = []
        for field, message in errors.items():
            target = self.errors.get(field) or self.errors.get(_ALIASES.get(field, ""))
            if target is None:
                unplaced.append(message)
            else:
                target.object = esc(message)
        self.general.object = esc(" ".join([general, *unplaced]).strip())

    def value(self, name: str) -> str:
        return str(self.fields[name].value or "")


# API field names that a form shows under another input.
_ALIASES = {"login": "username", "email_or_username": "username", "new_password": "password"}


def _column(title: str, form: FieldForm, *extra: Any) -> pn.Column:
    return pn.Column(heading(title), *form.layout(), *extra,
                     sizing_mode="stretch_width", styles={"max-width": "420px"})


class LoginView(View):
    name = "login"
    needs_login = False

    async def render(self, **params: Any) -> pn.viewable.Viewable:
        form = FieldForm({
            "username": pn.widgets.TextInput(name=self.t("login.login"), css_classes=["fx-login"],
                                             sizing_mode="stretch_width"),
            "password": pn.widgets.PasswordInput(name=self.t("login.password"),
                                                 css_classes=["fx-password"],
                                                 sizing_mode="stretch_width"),
        })

        async def submit(_event: Any) -> None:
            missing = {n: self.t("error.required") for n in form.fields if not form.value(n)}
            if missing:
                form.show(missing)
                return
            form.clear()

            def refused(exc: ApiError) -> None:
                general = self.t("login.failed") if exc.status in (400, 401) else exc.message
                form.show(exc.field_errors(self.t) if exc.status == 422 else {}, general)

            user = await self.app.guarded(
                lambda: self.app.auth.login(form.value("username"), form.value("password")),
                on_error=refused,
            )
            if user is not None:
                await self.app.after_sign_in()

        go = button(self.t("login.submit"), submit, "primary", name="login-submit")
        signup = button(self.t("nav.register"), lambda _e: self.app.navigate("register"),
                        "light", name="to-register")
        forgot = button(self.t("login.forgot"), lambda _e: self.app.navigate("forgot"),
                        "light", name="to-forgot")
        return _column(self.t("login.title"), form, go, forgot,
                       pn.Row(pn.pane.HTML(esc(self.t("login.no_account"))), signup))


class RegisterView(View):
    name = "register"
    needs_login = False

    async def render(self, **params: Any) -> pn.viewable.Viewable:
        def text(key: str, css: str, cls: type = pn.widgets.TextInput) -> pn.widgets.Widget:
            return cls(name=self.t(key), css_classes=[css], sizing_mode="stretch_width")

        form = FieldForm({
            "username": text("register.username", "fx-username"),
            "email": text("register.email", "fx-email"),
            "password": text("register.password", "fx-password", pn.widgets.PasswordInput),
            "password2": text("register.password2", "fx-password2", pn.widgets.PasswordInput),
        })

        async def submit(_event: Any) -> None:
            missing = {n: self.t("error.required") for n in form.fields if not form.value(n)}
            if missing:
                form.show(missing)
                return
            if form.value("password") != form.value("password2"):
                form.show({"password2": self.t("error.password_mismatch")})
                return
            form.clear()
            user = await self.app.guarded(
                lambda: self.app.auth.register(
                    form.value("username"), form.value("email"), form.value("password")
                ),
                on_error=lambda exc: form.show(exc.field_errors(self.t),
                                               "" if exc.errors else exc.message),
            )
            if user is not None:
                await self.app.go("login")
                self.app.shell.flash(self.t("register.done"), "success")

        go = button(self.t("register.submit"), submit, "primary", name="register-submit")
        return _column(self.t("register.title"), form, go)
