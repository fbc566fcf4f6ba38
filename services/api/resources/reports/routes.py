"""Reports (staff): MRR movements by month, as JSON or CSV for accountants."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from flask import Response, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from services.api.resources.common import actor, authenticated, document_errors
from services.api.resources.reports.schemas import (
    InvoiceExportArgsSchema,
    MrrArgsSchema,
    MrrReportSchema,
)
from services.core.db.session import get_engine, session_factory
from services.core.errors import PermissionDenied
from services.core.usecases import audit, mrr
from services.core.usecases.backoffice import exports, invoice_export
from services.core.usecases.integrations.api_keys import BILLING_READ
from services.web.auth import current_user
from services.web.reads import read_session
from services.web.uow import app_settings, db_session

blp = Blueprint("reports", __name__, url_prefix="/api/reports", description="Reports")
BASIS = ("NT$ excluding tax (price × 100/105); quarterly ÷3, yearly ÷12; trials excluded;"
         " past due counts until it churns; months in Asia/Taipei")


def _rows(args: dict[str, Any]) -> list[mrr.MonthRow]:
    # An API key with billing:read passes too (its stand-in has staff visibility).
    if not current_user().is_staff:
        raise PermissionDenied("Only staff read reports.")
    return mrr.report(read_session(), args["since"], args["until"])


@blp.route("/mrr/")
class MrrReport(MethodView):
    @authenticated(blp, staff=True, scope=BILLING_READ)
    @document_errors(blp, 422)
    @blp.arguments(MrrArgsSchema(), location="query")
    @blp.response(200, MrrReportSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """MRR by month: starting, new, expansion, contraction, churn (voluntary and
        delinquent), reactivation and ending, with revenue churn and net revenue retention;
        starting + movements = ending for every month (staff)."""
        return {"currency": "TWD", "basis": BASIS, "months": _rows(args)}


@blp.route("/mrr/export/")
class MrrExport(MethodView):
    @authenticated(blp, staff=True, scope=BILLING_READ)
    @document_errors(blp, 422)
    @blp.arguments(MrrArgsSchema(), location="query")
    @blp.response(200, content_type="text/csv", description="one row per month")
    def get(self, args: dict[str, Any]) -> Any:
        """The same report as CSV (one row per month) for accountants (staff)."""
        name = f"mrr-{args['since']:%Y-%m}-{args['until']:%Y-%m}.csv"
        return Response(mrr.to_csv(_rows(args)), mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{name}"'})


@blp.route("/invoices.csv")
class InvoiceExport(MethodView):
    @authenticated(blp, staff=True)
    @document_errors(blp, 422)
    @blp.arguments(InvoiceExportArgsSchema(), location="query")
    @blp.response(200, content_type="text/csv", description="one row per invoice")
    def get(self, args: dict[str, Any]) -> Any:
        """Invoices issued from `from` to `to` (days in Asia/Taipei, both included) as CSV for
        accountants (staff): order, customer, net, tax, total and refunded amounts exactly as
        stored, and the e-invoice number. UTF-8 with a byte-order mark so that Excel shows the
        Chinese; streamed, so a long range is never held in memory."""
        rows = invoice_export.rows
        return _csv_download("invoices", args, lambda session: invoice_export.csv_chunks(
            rows(session, args["since"], args["until"])))


@blp.route("/<any(customers, orders, refunds):kind>.csv")
class StaffExport(MethodView):
    @authenticated(blp, staff=True)
    @document_errors(blp, 422)
    @blp.arguments(InvoiceExportArgsSchema(), location="query")
    @blp.response(200, content_type="text/csv", description="one row per customer, order or"
                                                            " refund")
    def get(self, args: dict[str, Any], kind: str) -> Any:
        """Customers who joined, orders created or refunds asked for from `from` to `to`
        (days in Asia/Taipei, both included) as CSV (staff): the same encoding, byte-order
        mark, formula-safe text and streaming as the invoices export."""
        export = exports.EXPORTS[kind]
        return _csv_download(kind, args, lambda session: invoice_export.csv_chunks(
            export.rows(session, args["since"], args["until"]), export.columns))


def _csv_download(kind: str, args: dict[str, Any],
                  chunks_of: Callable[[Session], Iterator[str]]) -> Response:
    # Who took which personal data out, and for which days (committed with the request).
    user = current_user()
    audit.record(db_session(), actor(user), "report_export", resource_type="report",
                 resource_id=kind, description=(
                     f"Exported {kind} from {args['since']} to {args['until']} as CSV."),
                 meta={"kind": kind, "from": str(args["since"]), "to": str(args["until"])})
    engine = get_engine(app_settings())

    def chunks() -> Any:
        # Its own session: the request's one is closed before the body is streamed.
        with session_factory(engine)() as session:
            for chunk in chunks_of(session):
                yield chunk.encode("utf-8")

    name = f"{kind}-{args['since']:%Y%m%d}-{args['until']:%Y%m%d}.csv"
    return Response(stream_with_context(chunks()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})
