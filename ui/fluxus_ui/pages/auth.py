"""Log in and register, with each field's error shown right under it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import panel as pn
import param

from fluxus_ui.errors import ApiError
from fluxus_ui.pages import View
from fluxus_ui.template import button, esc, heading


class SubmitPasswordInput(pn.widgets.PasswordInput):
    """A password box whose Enter key submits its form like a TextInput's: Panel gives only
    TextInput ``enter_pressed``, but Bokeh's input sends ``value_submit`` for both."""

    enter_pressed = param.Event(doc="Enter was pressed in the box.")

    _rename: ClassVar[dict[str, str | None]] = {"enter_pressed": None}

    def _get_model(self, doc: Any, root: Any = None, parent: Any = None,
                   comm: Any = None) -> Any:
        model = super()._get_model(doc, root, parent, comm)
        self._register_events("value_submit", model=model, doc=doc, comm=comm)
        return model

    def _process_event(self, event: Any) -> None:
        if event.event_name == "value_submit":
            self.value = event.value
            self.enter_pressed = True


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

    def submit_on_enter(self, submit: Callable[[Any], Awaitable[None]],
                        spawn: Callable[..., None]) -> None:
        """Enter in any of the form's boxes does what its button does."""
        for widget in self.fields.values():
            if "enter_pressed" in widget.param:
                widget.param.watch(lambda _e: spawn(submit, None), "enter_pressed")


# API field names that a form shows under another input.
_ALIASES = {"login": "username", "email_or_username": "username", "new_password": "password",
            "password_confirm": "password2"}


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
            "password": SubmitPasswordInput(name=self.t("login.password"),
                                            css_classes=["fx-password"],
                                            sizing_mode="stretch_width"),
        })

        async def submit(_event: Any) -> None:
            # An earlier action's banner ("password changed") must not stand beside this one's
            # refusal.
            self.app.shell.clear_messages()
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

        form.submit_on_enter(submit, self.app.spawn)
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
            "password": text("register.password", "fx-password", SubmitPasswordInput),
            "password2": text("register.password2", "fx-password2", SubmitPasswordInput),
        })

        async def submit(_event: Any) -> None:
            self.app.shell.clear_messages()
            form.clear()
            # The API checks everything (the confirmation too) and answers every problem at
            # once; an empty box only reads better as "required" than as the API's wording.
            # An empty box never registers: the API refuses it, so the call is always made.
            missing = {n: self.t("error.required") for n in form.fields if not form.value(n)}

            def refused(exc: ApiError) -> None:
                form.show({**exc.field_errors(self.t), **missing},
                          "" if exc.errors else exc.message)

            user = await self.app.guarded(
                lambda: self.app.auth.register(
                    form.value("username"), form.value("email"), form.value("password"),
                    form.value("password2"),
                ),
                on_error=refused,
            )
            if user is not None:
                await self.app.go("login")
                self.app.shell.flash(self.t("register.done"), "success")

        form.submit_on_enter(submit, self.app.spawn)
        go = button(self.t("register.submit"), submit, "primary", name="register-submit")
        return _column(self.t("register.title"), form, go)
