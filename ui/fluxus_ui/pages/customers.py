"""Staff back office pages: /staff/customers (search, and the CSV exports) and
/staff/customers/<id> (one customer's history, with refund, transfer confirmation, invoice and
payment e-mail resend, cancel and free extension, each confirmed first and each the API's own
endpoint)."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import panel as pn

from fluxus_ui.i18n import TAIPEI, date, datetime_text, money
from fluxus_ui.i18n_audit import action_html
from fluxus_ui.models import parse_money, parse_time
from fluxus_ui.pager import pager
from fluxus_ui.pages import View
from fluxus_ui.pages.customer_actions import ActionPanel
from fluxus_ui.stores.customers import EXPORTS, History
from fluxus_ui.template import badge, button, definition_list, esc, heading, html_pane, table


class _StaffOnly(View):
    def refused(self) -> pn.viewable.Viewable | None:
        if self.app.auth.is_staff:
            return None
        return html_pane(f"<p>{esc(self.t('error.staff_only'))}</p>")


class CustomerSearchView(_StaffOnly):
    name = "staff-customers"

    async def render(self, **params: Any) -> pn.viewable.Viewable:
        if (refusal := self.refused()) is not None:
            return refusal
        q = str(params.get("q") or "")
        box = pn.widgets.TextInput(name=self.t("cust.search_label"), value=q,
                                   placeholder=self.t("cust.search_hint"),
                                   css_classes=["fx-customer-q"], sizing_mode="stretch_width")
        go = button(self.t("staff.search"), lambda _e: self.app.navigate(
            self.name, q=box.value.strip()), "primary", name="customer-search")
        box.param.watch(lambda _e: self.app.navigate(self.name, q=box.value.strip()),
                        "enter_pressed")
        parts: list[Any] = [heading(self.t("cust.title")),
                            pn.FlexBox(box, go, flex_wrap="wrap", align_items="end")]
        if q:
            parts.append(await self._results(q, int(params.get("page") or 1)))
        parts += [heading(self.t("cust.export_title")), self._export()]
        return pn.Column(*parts, sizing_mode="stretch_width", css_classes=["fx-page-customers"])

    async def _results(self, q: str, page: int) -> Any:
        found = await self.app.customers.search(q, page)
        if not found.items:
            return html_pane(f"<p class='muted fx-customers-none'>{esc(self.t('cust.none'))}</p>")
        rows = []
        for user in found.items:
            name = " ".join(p for p in (user.last_name, user.first_name) if p) or user.username
            rows.append(pn.Row(
                button(user.email, self._opener(user.id), "light", name="customer-open"),
                html_pane(f"<span>{esc(name)}</span> <span class='muted'>"
                          f"{esc(user.company_name)} {esc(user.tax_id)}</span>"),
                sizing_mode="stretch_width", css_classes=["fx-customer-row"]))
        more = pager(self.t, page, found.total, found.page_size,
                     lambda n: self.app.navigate(self.name, q=q, page=n), "customers")
        summary = html_pane(f"<p class='muted'>{esc(self.t('cust.found', n=found.total))}</p>")
        return pn.Column(summary, *rows, more, sizing_mode="stretch_width")

    def _opener(self, user_id: str) -> Any:
        return lambda _e: self.app.navigate("staff-customer", user_id=user_id)

    def _export(self) -> Any:
        today = datetime.now(TAIPEI).date()
        since = pn.widgets.DatePicker(name=self.t("staff.since"), value=today.replace(day=1),
                                      css_classes=["fx-export-from"])
        until = pn.widgets.DatePicker(name=self.t("staff.until"), value=today,
                                      css_classes=["fx-export-to"])
        note = html_pane("", css_classes=["fx-export-error"])

        kind = pn.widgets.Select(name=self.t("cust.export_kind"), options={
            self.t(f"cust.export_kind.{k}"): k for k in EXPORTS}, value="invoices",
            css_classes=["fx-export-kind"])

        async def fetch() -> io.BytesIO | None:
            note.object = ""
            data = await self.app.guarded(
                lambda: self.app.customers.export_csv(kind.value, since.value, until.value),
                on_error=lambda exc: setattr(note, "object", f"<p style='color:#b42318'>"
                                                             f"{esc(exc.message)}</p>"))
            return io.BytesIO(data) if data is not None else None

        download = pn.widgets.FileDownload(
            callback=fetch, filename="invoices.csv", label=self.t("cust.export_download"),
            button_type="primary", css_classes=["fx-export-csv"], embed=False)

        def rename(*_: Any) -> None:
            download.filename = (f"{kind.value}-{since.value:%Y%m%d}-{until.value:%Y%m%d}.csv")

        kind.param.watch(rename, "value")
        since.param.watch(rename, "value")
        until.param.watch(rename, "value")
        rename()
        hint = html_pane(f"<p class='muted'>{esc(self.t('cust.export_hint'))}</p>")
        return pn.Column(pn.FlexBox(kind, since, until, download, flex_wrap="wrap",
                                    align_items="end"),
                         hint, note, sizing_mode="stretch_width")


class CustomerView(_StaffOnly):
    name = "staff-customer"

    async def render(self, **params: Any) -> pn.viewable.Viewable:
        if (refusal := self.refused()) is not None:
            return refusal
        found = await self.app.customers.history(str(params.get("user_id") or ""))
        user = found.user
        actions = ActionPanel(self, found)
        back = button(self.t("cust.back"), lambda _e: self.app.navigate("staff-customers"),
                      "light", name="customers-back")
        facts = definition_list([
            (self.t("register.email"), user.email), (self.t("register.username"), user.username),
            (self.t("cust.name"), " ".join(p for p in (user.last_name, user.first_name) if p)
             or "—"),
            (self.t("cust.company"), f"{user.company_name} {user.tax_id}".strip() or "—"),
            (self.t("language"), user.language), (self.t("col.joined"), date(user.created_at)),
            (self.t("cust.credit"), money(found.credit_balance)),
        ])
        return pn.Column(
            back, heading(self.t("cust.customer", email=user.email)),
            html_pane(f'<div class="card fx-customer-facts">{facts}</div>'),
            actions.flash_area,
            heading(self.t("staff.subscriptions")), *self._subscriptions(found, actions),
            heading(self.t("nav.orders")), *self._orders(found, actions),
            heading(self.t("nav.invoices")), *self._invoices(found, actions),
            heading(self.t("cust.refunds")), *self._refunds(found, actions),
            heading(self.t("cust.agreements")), self._agreements(found),
            heading(self.t("cust.credit_entries")), self._credits(found),
            heading(self.t("cust.emails")), self._emails(found),
            heading(self.t("staff.audit")), self._audit(found),
            sizing_mode="stretch_width", css_classes=["fx-page-customer"])

    def _subscriptions(self, found: History, actions: ActionPanel) -> list[Any]:
        out: list[Any] = []
        for sub in found.subscriptions:
            ending = (" · " + esc(self.t("cust.ends_at_period_end"))
                      if sub.cancel_at_period_end else "")
            text = (f"{esc(found.plan_name(sub.plan_id))} "
                    f"{badge(sub.status, self.status(sub.status))} "
                    f"{esc(date(sub.start_date))} – {esc(date(sub.end_date))}{ending}")
            row: list[Any] = [html_pane(f"<p>{text}</p>")]
            if sub.status in ("active", "trial", "past_due", "pending"):
                row.append(actions.cancel_button(sub))
            if sub.status == "active":
                row.append(actions.extend_button(sub))
            out.append(pn.FlexBox(*row, flex_wrap="wrap", align_items="center",
                                  css_classes=["fx-customer-sub", f"fx-sub-{sub.id[:8]}"]))
        return out or [self._none()]

    def _orders(self, found: History, actions: ActionPanel) -> list[Any]:
        out: list[Any] = []
        for entry in found.rows("orders"):
            order = entry["order"]
            attempts = "; ".join(
                " ".join((a["merchant_trade_no"], self.t(f"attempt.{a['status']}"),
                          a.get("failure_reason") or ""))
                for a in entry["attempts"]) or "—"
            refunded = parse_money(order.get("refunded_amount"))
            facts = definition_list([
                (self.t("orders.number"), order["order_number"]),
                (self.t("orders.date"), datetime_text(parse_time(order["created_at"]))),
                (self.t("dash.plan"), found.plan_name(order["plan_id"])),
                (self.t("orders.amount"), money(parse_money(order["amount"]))),
                (self.t("orders.method"), self.method(order["payment_method"])),
                (self.t("orders.status"), self.status(order["status"])),
                (self.t("cust.attempts"), attempts),
                (self.t("cust.refunded"), money(refunded)),
            ])
            row: list[Any] = [html_pane(f'<div class="card">{facts}</div>')]
            if order["status"] == "completed" and refunded < parse_money(order["amount"]):
                row.append(actions.refund_button(order, refunded))
            row += self._payment_mails(order, actions)
            out.append(pn.Column(*row, sizing_mode="stretch_width", styles={"max-width": "760px"},
                                 css_classes=["fx-customer-order",
                                              f"fx-order-{order['order_number']}"]))
        return out or [self._none()]

    @staticmethod
    def _payment_mails(order: dict[str, Any], actions: ActionPanel) -> list[Any]:
        """The payment e-mails worth sending again (the API refuses a code that expired)."""
        if order["status"] in ("completed", "refunded"):
            return [actions.resend_payment_button(order, "confirmation")]
        if order["status"] in ("pending", "processing") \
                and order["payment_method"] in ("atm", "cvs", "barcode"):
            return [actions.resend_payment_button(order, "instructions")]
        return []

    def _invoices(self, found: History, actions: ActionPanel) -> list[Any]:
        out: list[Any] = []
        for inv in found.rows("invoices"):
            einvoice = inv.get("einvoice") or {}
            text = (f"{esc(inv['invoice_number'])} · {esc(money(parse_money(inv['total_amount'])))}"
                    f" · {esc(date(parse_time(inv['issued_at'])))} · {esc(self.t('cust.einvoice'))}"
                    f" {esc(einvoice.get('number') or einvoice.get('status') or '—')}")
            row: list[Any] = [html_pane(f"<p>{text}</p>"), actions.resend_button(inv, "invoice")]
            if einvoice.get("status") == "issued":
                row.append(actions.resend_button(inv, "einvoice"))
            out.append(pn.FlexBox(*row, flex_wrap="wrap", align_items="center",
                                  css_classes=["fx-customer-invoice"]))
        return out or [self._none()]

    def _refunds(self, found: History, actions: ActionPanel) -> list[Any]:
        out: list[Any] = []
        for refund in found.rows("refunds"):
            refund_state = self.t(f"cust.refund.{refund['status']}")
            text = (f"{esc(found.order_number(refund['order_id']))} · "
                    f"{esc(money(parse_money(refund['amount'])))} · "
                    f"{esc(refund_state)} · {esc(refund['reason'])}"
                    f" {esc(refund.get('transfer_reference') or '')}")
            row: list[Any] = [html_pane(f"<p>{text}</p>{self._refund_why(refund)}")]
            if refund["status"] == "owed":
                row.append(actions.confirm_button(refund))
            out.append(pn.FlexBox(*row, flex_wrap="wrap", align_items="center",
                                  css_classes=["fx-customer-refund"]))
        return out or [self._none()]

    def _refund_why(self, refund: dict[str, Any]) -> str:
        """ECPay's last answer on a card refund not yet settled or failed (why it waits, or
        that it needs a person), and when Fluxus asks again: what staff act on."""
        error = str(refund.get("last_error") or "")
        if not error or refund.get("status") in ("succeeded", "confirmed"):
            return ""
        text = self.t("cust.refund.why", error=error)
        next_try = parse_time(refund.get("next_attempt_at"))
        if next_try is not None and refund.get("status") in ("requested", "sent"):
            text += " · " + self.t("cust.refund.next_try", when=datetime_text(next_try))
        return f"<p class='fx-refund-why'><small>{esc(text)}</small></p>"

    def _agreements(self, found: History) -> Any:
        rows = [[a["merchant_trade_no"], a["status"], money(parse_money(a["period_amount"])),
                 datetime_text(parse_time(a["first_charged_at"])),
                 datetime_text(parse_time(a.get("cancelled_at")))]
                for a in found.rows("card_agreements")]
        return html_pane(table([self.t("orders.number"), self.t("orders.status"),
                                self.t("orders.amount"), self.t("col.start"),
                                self.t("col.end")], rows)) if rows else self._none()

    def _credits(self, found: History) -> Any:
        rows = [[datetime_text(parse_time(c["created_at"])), c["kind"],
                 money(parse_money(c["amount"])), c["note"]] for c in found.rows("credit_entries")]
        return html_pane(table([self.t("col.time"), self.t("cust.kind"), self.t("orders.amount"),
                                self.t("col.description")], rows)) if rows else self._none()

    def _emails(self, found: History) -> Any:
        rows = [[datetime_text(parse_time(m["created_at"])), m["template"], m["recipient"],
                 m["status"]] for m in found.rows("emails")]
        return html_pane(table([self.t("col.time"), self.t("cust.kind"),
                                self.t("register.email"), self.t("orders.status")], rows),
                         css_classes=["fx-customer-emails"]) if rows else self._none()

    def _audit(self, found: History) -> Any:
        rows = [[esc(datetime_text(parse_time(a["created_at"]))),
                 action_html(a["action"], self.t), esc(a["description"]),
                 esc(a.get("ip_address") or "")] for a in found.rows("audit")]
        return html_pane(table([self.t("col.time"), self.t("staff.action"),
                                self.t("col.description"), self.t("col.ip")], rows, raw=True),
                         css_classes=["fx-customer-audit"]) if rows else self._none()

    def _none(self) -> Any:
        return html_pane(f"<p class='muted'>{esc(self.t('cust.nothing'))}</p>")
