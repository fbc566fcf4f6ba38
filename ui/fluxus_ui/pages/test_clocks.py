"""/staff/test-clocks: staff list the test clocks, create one, advance one (forward only: an
earlier time is refused here, anything else the API refuses shows its message), put a new test
customer on one, and delete one after a confirmation. Where the deployment runs without
FLUXUS_TEST_CLOCKS the page says so instead (the API's 403 test_clocks_disabled)."""

from __future__ import annotations

from typing import Any

import panel as pn

from fluxus_ui.errors import ApiError
from fluxus_ui.i18n import datetime_text
from fluxus_ui.pages import View
from fluxus_ui.pages.auth import FieldForm
from fluxus_ui.stores.test_clocks import (
    BADGE,
    DISABLED,
    TestClock,
    advance_problem,
    next_month,
    parse_taipei,
    taipei_text,
)
from fluxus_ui.template import badge, button, definition_list, esc, heading, html_pane


class TestClocksView(View):
    __test__ = False
    name = "staff-test-clocks"

    async def render(self, **params: Any) -> pn.viewable.Viewable:
        if not self.app.auth.is_staff:
            return html_pane(f"<p>{esc(self.t('error.staff_only'))}</p>")
        parts: list[Any] = [heading(self.t("clock.title"))]
        try:
            clocks = await self.app.test_clocks.clocks()
        except ApiError as exc:
            if exc.code != DISABLED:
                raise  # the app's guard shows it
            parts.append(html_pane(f"<p class='fx-clocks-disabled'>"
                                   f"{esc(self.t('clock.disabled'))}</p>"))
            return pn.Column(*parts, sizing_mode="stretch_width",
                             css_classes=["fx-page-test-clocks"])
        parts += [html_pane(f"<p class='muted'>{esc(self.t('clock.intro'))}</p>"),
                  button(self.t("clock.refresh"), lambda _e: self.app.navigate(self.name),
                         "light", name="clocks-refresh")]
        parts += [self._clock(c) for c in clocks] or [
            html_pane(f"<p class='muted fx-clocks-none'>{esc(self.t('clock.none'))}</p>")]
        parts += [heading(self.t("clock.create_title")), self._create_form()]
        return pn.Column(*parts, sizing_mode="stretch_width", css_classes=["fx-page-test-clocks"])

    async def _done(self, message: str) -> None:
        await self.app.go(self.name)
        self.app.shell.flash(message, "success")

    def _create_form(self) -> pn.Column:
        form = FieldForm({
            "name": pn.widgets.TextInput(name=self.t("clock.name"), css_classes=["fx-clock-name"],
                                         sizing_mode="stretch_width"),
            "frozen_time": pn.widgets.TextInput(name=self.t("clock.start"),
                                                placeholder="2027-01-07 09:00",
                                                css_classes=["fx-clock-start"],
                                                sizing_mode="stretch_width"),
        })

        async def create(_event: Any) -> None:
            name, typed = form.value("name").strip(), form.value("frozen_time").strip()
            start = parse_taipei(typed) if typed else None
            if not name:
                form.show({"name": self.t("error.required")})
                return
            if typed and start is None:
                form.show({"frozen_time": self.t("clock.time_invalid")})
                return
            made = await self.app.guarded(
                lambda: self.app.test_clocks.create(name, start),
                on_error=lambda exc: form.show(exc.errors, exc.message))
            if made is not None:
                await self._done(self.t("clock.created", name=made.name))

        return pn.Column(*form.layout(),
                         button(self.t("clock.create"), create, "primary", name="clock-create"),
                         sizing_mode="stretch_width", styles={"max-width": "620px"})

    def _clock(self, clock: TestClock) -> pn.Column:
        pairs = [
            (self.t("clock.frozen_time"), datetime_text(clock.frozen_time)),
            (self.t("clock.customers"),
             str(clock.customers) if clock.customers is not None else "—"),
        ]
        if clock.advancing:
            pairs.append((self.t("clock.advancing_to"), datetime_text(clock.advancing_to)))
        if clock.steps:
            pairs.append((self.t("clock.steps"), str(clock.steps)))
        if clock.last_error:
            pairs.append((self.t("clock.last_error"), clock.last_error))
        state = badge(BADGE.get(clock.status, ""), self.t(f"clock.status.{clock.status}"))
        card = (f'<div class="card"><h3 style="margin:4px 0">{esc(clock.name)} {state}</h3>'
                f"{definition_list(pairs)}</div>")
        return pn.Column(html_pane(card), self._advance_form(clock),
                         self._customer_form(clock), self._delete(clock),
                         sizing_mode="stretch_width", styles={"max-width": "720px"},
                         css_classes=["fx-clock", f"fx-clock-{clock.id[:8]}",
                                      f"fx-clock-{clock.status}"])

    def _advance_form(self, clock: TestClock) -> pn.Column:
        suggested = taipei_text(next_month(clock.frozen_time)) if clock.frozen_time else ""
        form = FieldForm({"frozen_time": pn.widgets.TextInput(
            name=self.t("clock.advance_to"), value=suggested,
            css_classes=["fx-clock-advance-to"], sizing_mode="stretch_width")})

        async def advance(_event: Any) -> None:
            target = parse_taipei(form.value("frozen_time"))
            problem = advance_problem(clock, target)
            if problem is not None or target is None:
                form.show({"frozen_time": self.t(
                    problem or "clock.time_invalid", time=datetime_text(clock.frozen_time))})
                return
            moved = await self.app.guarded(
                lambda: self.app.test_clocks.advance(clock, target),
                on_error=lambda exc: form.show(exc.errors, exc.message))
            if moved is not None:
                await self._done(self.t("clock.advanced", name=clock.name,
                                        time=datetime_text(target)))

        return pn.Column(*form.layout(),
                         button(self.t("clock.advance"), advance, "primary",
                                name="clock-advance", disabled=clock.advancing),
                         sizing_mode="stretch_width")

    def _customer_form(self, clock: TestClock) -> pn.Column:
        form = FieldForm({
            "username": pn.widgets.TextInput(name=self.t("register.username"),
                                             css_classes=["fx-clock-username"]),
            "email": pn.widgets.TextInput(name=self.t("register.email"),
                                          css_classes=["fx-clock-email"]),
            "password": pn.widgets.PasswordInput(name=self.t("register.password"),
                                                 css_classes=["fx-clock-password"]),
        })

        async def add(_event: Any) -> None:
            missing = {k: self.t("error.required") for k in form.fields if not form.value(k)}
            if missing:
                form.show(missing)
                return
            email = await self.app.guarded(
                lambda: self.app.test_clocks.add_customer(
                    clock, username=form.value("username"), email=form.value("email"),
                    password=form.value("password")),
                on_error=lambda exc: form.show(exc.errors, exc.message))
            if email is not None:
                await self._done(self.t("clock.customer_added", email=email, name=clock.name))

        # Opened on demand: a page of clocks stays short on a phone.
        area = pn.Column(sizing_mode="stretch_width")

        def open_form(_event: Any) -> None:
            area.objects = [*form.layout(), button(self.t("clock.customer_add"), add, "primary",
                                                   name="clock-customer-add")]

        return pn.Column(button(self.t("clock.customer_title"), open_form, "light",
                                name="clock-customer-open"), area,
                         sizing_mode="stretch_width", css_classes=["fx-clock-customer"])

    def _delete(self, clock: TestClock) -> pn.Column:
        holder = pn.Column(sizing_mode="stretch_width")
        prompt = html_pane("", css_classes=["fx-clock-delete-error"])

        async def confirmed(_event: Any) -> None:
            def failed(exc: ApiError) -> None:
                prompt.object = f"<p style='color:#b42318'>{esc(exc.message)}</p>"

            if await self.app.guarded(lambda: self.app.test_clocks.delete(clock),
                                      on_error=failed) is not None:
                await self._done(self.t("clock.deleted", name=clock.name))

        def ask(_event: Any) -> None:
            n = str(clock.customers) if clock.customers is not None else "—"
            question = self.t("clock.delete_question", name=clock.name, n=n)
            holder.objects = [
                html_pane(f"<p><b>{esc(question)}</b></p>",
                          css_classes=["fx-clock-delete-question"]),
                pn.Row(button(self.t("cust.confirm"), confirmed, "danger",
                              name="clock-delete-confirm"),
                       button(self.t("cust.back_out"), lambda _e: close(), "light",
                              name="clock-delete-back"))]

        def close() -> None:
            holder.objects, prompt.object = [], ""

        return pn.Column(button(self.t("clock.delete"), ask, "light", name="clock-delete"),
                         holder, prompt, sizing_mode="stretch_width")
