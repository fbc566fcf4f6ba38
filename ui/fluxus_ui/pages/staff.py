"""Staff pages: customers, subscriptions by status, troubled payments, MRR, audit search."""

from __future__ import annotations

from typing import Any

import panel as pn
from bokeh.models import ColumnDataSource, FactorRange, LinearAxis, Range1d
from bokeh.plotting import figure

from fluxus_ui.i18n import date, datetime_text, money
from fluxus_ui.i18n_audit import action_html
from fluxus_ui.models import AuditEntry
from fluxus_ui.pager import PAGE_SIZE, pager
from fluxus_ui.pages import View
from fluxus_ui.stores.staff import MonthPoint
from fluxus_ui.template import badge, button, esc, heading, html_pane, table

STATUSES = ("", "pending", "trial", "active", "past_due", "cancelled", "expired")


class StaffView(View):
    name = "staff"

    async def render(self, **params: Any) -> pn.viewable.Viewable:
        if not self.app.auth.is_staff:
            return html_pane(f"<p>{esc(self.t('error.staff_only'))}</p>")
        store = self.app.staff
        await store.load_customers()
        series = await store.load_metrics()
        tabs = pn.Tabs(
            (self.t("staff.customers"), self._customers()),
            (self.t("staff.subscriptions"), await self._subscriptions()),
            (self.t("staff.payments"), await self._troubled()),
            (self.t("staff.metrics"), self._metrics(series)),
            (self.t("staff.audit"), self._audit()),
            sizing_mode="stretch_width", dynamic=False,
        )
        queues = pn.FlexBox(
            button(self.t("cust.open_search"), lambda _e: self.app.navigate("staff-customers"),
                   "primary", name="to-customers"),
            button(self.t("queue.reviews"), lambda _e: self.app.navigate("staff-reviews"),
                   "light", name="to-reviews"),
            button(self.t("queue.einvoices"), lambda _e: self.app.navigate("staff-einvoices"),
                   "light", name="to-einvoices"),
            button(self.t("clock.title"), lambda _e: self.app.navigate("staff-test-clocks"),
                   "light", name="to-test-clocks"),
            button(self.t("jobs.title"), lambda _e: self.app.navigate("staff-jobs"),
                   "light", name="to-jobs"),
            flex_wrap="wrap")
        return pn.Column(heading(self.t("staff.title")), queues, tabs,
                         sizing_mode="stretch_width", css_classes=["fx-page-staff"])

    def _customers(self) -> Any:
        store = self.app.staff
        rows = []
        for user in store.customers:
            subs = ", ".join(f"{store.plan_name(s.plan_id)} ({self.status(s.status)})"
                             for s in store.subscriptions_of(user.id)) or "—"
            rows.append([user.username, user.email, date(user.created_at), subs])
        return html_pane(table([self.t("col.username"), self.t("col.email"),
                                self.t("col.joined"), self.t("col.subscriptions")], rows),
                         css_classes=["fx-staff-customers"])

    async def _subscriptions(self) -> Any:
        status = pn.widgets.Select(name=self.t("staff.status_filter"),
                                   options={(self.status(s) if s else self.t("staff.all")): s
                                            for s in STATUSES}, width=200)
        result = html_pane("", css_classes=["fx-staff-subscriptions"])
        pages = pn.Column(sizing_mode="stretch_width")

        async def load(page: int = 1) -> None:
            result.loading = True
            try:
                found = await self.app.guarded(
                    lambda: self.app.staff.load_subscriptions(status.value, page))
            finally:
                result.loading = False
            store = self.app.staff
            names = {u.id: u.username for u in store.customers}
            rows = [[esc(names.get(s.user_id, s.user_id[:8])), esc(store.plan_name(s.plan_id)),
                     badge(s.status, self.status(s.status)), esc(date(s.start_date)),
                     esc(date(s.end_date))] for s in (found.items if found else [])]
            result.object = table([self.t("col.user"), self.t("dash.plan"),
                                   self.t("dash.status"), self.t("col.start"),
                                   self.t("col.end")], rows, raw=True)
            # The pager keeps the status filter: it reloads through this same closure.
            pages.objects = [pager(self.t, page, found.total if found else 0, PAGE_SIZE,
                                   lambda n: self.app.spawn(load, n), "subscriptions")]

        status.param.watch(lambda _e: self.app.spawn(load), "value")
        await load()
        return pn.Column(status, result, pages, sizing_mode="stretch_width")

    async def _troubled(self) -> Any:
        result = html_pane("", css_classes=["fx-staff-payments"])
        pages = pn.Column(sizing_mode="stretch_width")

        async def load(page: int = 1) -> None:
            await self.app.guarded(lambda: self.app.staff.load_troubled(page))
            rows = [[esc(o.order_number), esc(datetime_text(o.created_at)),
                     esc(money(o.amount, o.currency)), esc(self.method(o.payment_method)),
                     badge(o.status, self.status(o.status)), esc(o.failure_reason or "")]
                    for o in self.app.staff.troubled]
            result.object = table([self.t("orders.number"), self.t("orders.date"),
                                   self.t("orders.amount"), self.t("orders.method"),
                                   self.t("orders.status"), self.t("col.description")], rows,
                                  raw=True)
            pages.objects = [pager(self.t, page, self.app.staff.troubled_total, PAGE_SIZE,
                                   lambda n: self.app.spawn(load, n), "payments")]

        await load()
        return pn.Column(result, pages, sizing_mode="stretch_width")

    def _metrics(self, series: list[MonthPoint]) -> Any:
        source = ColumnDataSource({"month": [p.month for p in series],
                                   "mrr": [float(p.mrr) for p in series],
                                   "active": [p.active for p in series]})
        top_mrr = max([float(p.mrr) for p in series] + [1.0])
        plot = figure(x_range=FactorRange(*[p.month for p in series]),
                      y_range=Range1d(start=0, end=top_mrr * 1.2), height=320,
                      sizing_mode="stretch_width", title=self.t("staff.metrics"),
                      toolbar_location=None)
        plot.vbar(x="month", top="mrr", source=source, width=0.7, color="#0f6e5a",
                  legend_label=self.t("staff.mrr"))
        top = max([p.active for p in series] + [1])
        plot.extra_y_ranges = {"active": Range1d(start=0, end=top * 1.2)}
        plot.add_layout(LinearAxis(y_range_name="active", axis_label=self.t("staff.active")),
                        "right")
        plot.line(x="month", y="active", source=source, y_range_name="active", line_width=3,
                  color="#d97706", legend_label=self.t("staff.active"))
        plot.legend.location = "top_left"
        plot.xaxis.major_label_orientation = 0.8
        summary = table([self.t("staff.month"), self.t("staff.mrr"), self.t("staff.active")],
                        [[p.month, money(p.mrr), str(p.active)] for p in series[-3:]])
        return pn.Column(pn.pane.Bokeh(plot, sizing_mode="stretch_width"),
                         html_pane(summary, css_classes=["fx-staff-mrr"]),
                         sizing_mode="stretch_width")

    def _audit(self) -> Any:
        action = pn.widgets.TextInput(name=self.t("staff.action"), width=160,
                                      css_classes=["fx-audit-action"])
        user_id = pn.widgets.TextInput(name=self.t("staff.user_or_email"), width=260,
                                       css_classes=["fx-audit-user"])
        resource = pn.widgets.TextInput(name=self.t("staff.resource"), width=160)
        result = html_pane("", css_classes=["fx-staff-audit"])
        pages = pn.Column(sizing_mode="stretch_width")

        async def search(page: int = 1) -> None:
            result.loading = True
            try:
                who = user_id.value.strip()  # an e-mail, or a UUID as before
                await self.app.guarded(lambda: self.app.staff.search_audit(
                    page, action=action.value, resource_type=resource.value,
                    **({"user_email": who} if "@" in who else {"user_id": who})))
            finally:
                result.loading = False
            rows = [[esc(datetime_text(e.created_at)), action_html(e.action, self.t),
                     esc(_who(e)), esc(f"{e.resource_type} {e.resource_id[:8]}"),
                     esc(e.description), esc(e.ip_address)]
                    for e in self.app.staff.audit]
            result.object = table([self.t("col.time"), self.t("staff.action"),
                                   self.t("col.user"), self.t("staff.resource"),
                                   self.t("col.description"), self.t("col.ip")], rows, raw=True)
            # Paging re-reads the filter boxes as they are: typing a new filter and pressing
            # "next" pages the new search, the same as pressing "search" then "next".
            pages.objects = [pager(self.t, page, self.app.staff.audit_total, PAGE_SIZE,
                                   lambda n: self.app.spawn(search, n), "audit")]

        go = pn.widgets.Button(name=self.t("staff.search"), button_type="primary",
                               css_classes=["fx-audit-search"])
        go.on_click(lambda _e: self.app.spawn(search))
        return pn.Column(pn.FlexBox(action, user_id, resource, go, flex_wrap="wrap"), result,
                         pages, sizing_mode="stretch_width")


def _who(entry: AuditEntry) -> str:
    """The person a row names: name and e-mail; a dash for the system; the id's start when
    the account is gone."""
    if entry.user_email:
        return f"{entry.user_name} <{entry.user_email}>" if entry.user_name else entry.user_email
    return entry.user_id[:8] if entry.user_id else "—"
