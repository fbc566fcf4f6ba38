"""Staff queues as pages: /staff/reviews (money parked for review, resolved with a decision
and a note), /staff/einvoices (e-invoices ECPay refused, sent again) and /staff/jobs (RQ's
failed jobs, requeued)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import panel as pn

from fluxus_ui.i18n import datetime_text, money
from fluxus_ui.pager import PAGE_SIZE, pager
from fluxus_ui.pages import View
from fluxus_ui.pages.auth import FieldForm
from fluxus_ui.stores.backoffice import DECISIONS, FailedEInvoice, FailedJob, ReviewItem
from fluxus_ui.template import button, definition_list, esc, heading, html_pane


class _StaffQueue(View):
    def refused(self) -> pn.viewable.Viewable | None:
        if self.app.auth.is_staff:
            return None
        return html_pane(f"<p>{esc(self.t('error.staff_only'))}</p>")

    def empty(self, key: str) -> pn.pane.HTML:
        return html_pane(f"<p class='muted fx-queue-empty'>{esc(self.t(key))}</p>")

    def pages(self, page: int, total: int) -> pn.Row:
        return pager(self.t, page, total, PAGE_SIZE,
                     lambda n: self.app.navigate(self.name, page=n), "queue")


class ReviewQueueView(_StaffQueue):
    name = "staff-reviews"

    async def render(self, **params: Any) -> pn.viewable.Viewable:
        if (refusal := self.refused()) is not None:
            return refusal
        page = int(params.get("page") or 1)
        items, total = await self.app.backoffice.open_reviews(page)
        parts: list[Any] = [heading(self.t("queue.reviews"))]
        parts += [self._item(item) for item in items] or [self.empty("queue.reviews_empty")]
        parts.append(self.pages(page, total))
        return pn.Column(*parts, sizing_mode="stretch_width", css_classes=["fx-page-reviews"])

    def _item(self, item: ReviewItem) -> pn.Column:
        amount = money(item.amount, item.currency) if item.amount is not None else "—"
        facts = definition_list([
            (self.t("queue.reason"), self.t(f"review.{item.reason}")),
            (self.t("orders.amount"), amount),
            (self.t("orders.number"), item.order_number or item.merchant_trade_no),
            (self.t("queue.arrived"), datetime_text(item.arrived_at)),
            (self.t("col.description"), item.detail or "—"),
        ])
        form = FieldForm({
            "decision": pn.widgets.Select(
                name=self.t("queue.decision"),
                options={self.t(f"review.decision.{d}"): d for d in DECISIONS},
                css_classes=["fx-review-decision"], sizing_mode="stretch_width"),
            "note": pn.widgets.TextInput(name=self.t("queue.note"), css_classes=["fx-review-note"],
                                         sizing_mode="stretch_width"),
        })

        async def resolve(_event: Any) -> None:
            if not form.value("note").strip():
                form.show({"note": self.t("error.required")})
                return
            done = await self.app.guarded(
                lambda: self.app.backoffice.resolve(item, form.value("decision"),
                                                    form.value("note")),
                on_error=lambda exc: form.show(exc.errors, "" if exc.errors else exc.message))
            if done:
                await self.app.go(self.name)
                self.app.shell.flash(self.t("queue.resolved"), "success")

        return pn.Column(html_pane(f'<div class="card">{facts}</div>'), *form.layout(),
                         button(self.t("queue.resolve"), resolve, "primary",
                                name="review-resolve"),
                         sizing_mode="stretch_width", styles={"max-width": "720px"},
                         css_classes=["fx-review", f"fx-review-{item.id[:8]}"])


class EInvoiceQueueView(_StaffQueue):
    name = "staff-einvoices"

    async def render(self, **params: Any) -> pn.viewable.Viewable:
        if (refusal := self.refused()) is not None:
            return refusal
        page = int(params.get("page") or 1)
        failed, total = await self.app.backoffice.failed_einvoices(page)
        parts: list[Any] = [heading(self.t("queue.einvoices"))]
        parts += [self._item(e) for e in failed] or [self.empty("queue.einvoices_empty")]
        parts.append(self.pages(page, total))
        return pn.Column(*parts, sizing_mode="stretch_width", css_classes=["fx-page-einvoices"])

    def _item(self, einvoice: FailedEInvoice) -> pn.Column:
        facts = definition_list([
            (self.t("orders.number"), einvoice.relate_number),
            (self.t("orders.amount"), money(Decimal(einvoice.sales_amount))),
            (self.t("queue.attempts"), str(einvoice.attempts)),
            (self.t("queue.last_error"), einvoice.last_error or "—"),
            (self.t("orders.date"), datetime_text(einvoice.created_at)),
        ])

        async def retry(_event: Any) -> None:
            if await self.app.guarded(lambda: self.app.backoffice.retry(einvoice)):
                await self.app.go(self.name)
                self.app.shell.flash(self.t("queue.retried", number=einvoice.relate_number),
                                     "success")

        return pn.Column(html_pane(f'<div class="card">{facts}</div>'),
                         button(self.t("queue.retry"), retry, "warning", name="einvoice-retry"),
                         sizing_mode="stretch_width", styles={"max-width": "720px"},
                         css_classes=["fx-failed-einvoice", f"fx-einv-{einvoice.relate_number}"])


class FailedJobsView(_StaffQueue):
    """RQ's failed jobs: what failed, where, when and why (never the job's arguments), each
    with a requeue that asks first."""

    name = "staff-jobs"

    async def render(self, **params: Any) -> pn.viewable.Viewable:
        if (refusal := self.refused()) is not None:
            return refusal
        jobs, total = await self.app.backoffice.failed_jobs()
        parts: list[Any] = [heading(self.t("jobs.title"))]
        if jobs:
            parts.append(html_pane(f"<p class='muted'>{esc(self.t('jobs.count', n=total))}</p>"))
        parts += [self._item(job) for job in jobs] or [self.empty("jobs.empty")]
        return pn.Column(*parts, sizing_mode="stretch_width", css_classes=["fx-page-jobs"])

    def _item(self, job: FailedJob) -> pn.Column:
        facts = definition_list([
            (self.t("jobs.job"), job.job),
            (self.t("jobs.queue"), job.queue),
            (self.t("jobs.failed_at"), datetime_text(job.failed_at)),
            (self.t("jobs.error"), job.error or "—"),
        ])
        holder = pn.Column(sizing_mode="stretch_width")
        prompt = html_pane("", css_classes=["fx-action-error"])

        async def requeue() -> None:
            done = await self.app.guarded(
                lambda: self.app.backoffice.requeue(job),
                on_error=lambda exc: setattr(prompt, "object", f"<p style='color:#b42318'>"
                                                               f"{esc(exc.message)}</p>"))
            if done:
                await self.app.go(self.name)
                self.app.shell.flash(self.t("jobs.requeued", job=job.job, queue=job.queue),
                                     "success")

        def ask(_event: Any) -> None:
            question = self.t("jobs.requeue_question", job=job.job, queue=job.queue)
            holder.objects = [
                html_pane(f"<p><b>{esc(question)}</b></p>", css_classes=["fx-requeue-question"]),
                pn.Row(button(self.t("cust.confirm"), lambda _e: self.app.spawn(requeue),
                              "danger", name="requeue-confirm"),
                       button(self.t("cust.back_out"), lambda _e: holder.clear(), "light",
                              name="requeue-back"))]

        return pn.Column(html_pane(f'<div class="card">{facts}</div>'),
                         button(self.t("jobs.requeue"), ask, "warning", name="job-requeue"),
                         holder, prompt, sizing_mode="stretch_width",
                         styles={"max-width": "720px"},
                         css_classes=["fx-failed-job", f"fx-job-{job.id[:8]}"])
