"""E-invoices for staff: every sale's uniform invoice state, and a retry after a refusal."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from services.api.resources.common import (
    actor,
    authenticated,
    clock,
    document_errors,
    page_body,
    page_schema,
)
from services.api.resources.einvoices.schemas import EInvoiceListArgsSchema, StaffEInvoiceSchema
from services.core.usecases.einvoices import queue
from services.web.auth import current_user
from services.web.uow import db_session, jobs

blp = Blueprint("einvoices", __name__, url_prefix="/api/einvoices",
                description="Taiwan e-invoices (staff)")
EInvoicePageSchema = page_schema(StaffEInvoiceSchema, "EInvoicePage")


@blp.route("/")
class EInvoices(MethodView):
    @authenticated(blp, staff=True)
    @document_errors(blp, 422)
    @blp.arguments(EInvoiceListArgsSchema, location="query")
    @blp.response(200, EInvoicePageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Every sale's e-invoice, newest first (staff only).

        `?status=failed` lists what ECPay refused (`last_error` has its message);
        `?status=pending` what the worker has not issued yet (retried with back-off).
        """
        return page_body(queue.list_einvoices(db_session(), **args))


@blp.route("/<uuid:einvoice_id>/")
class EInvoiceDetail(MethodView):
    @authenticated(blp, staff=True)
    @document_errors(blp, 404)
    @blp.response(200, StaffEInvoiceSchema)
    def get(self, einvoice_id: uuid.UUID) -> Any:
        """One e-invoice (staff only)."""
        return queue.get_einvoice(db_session(), einvoice_id)


@blp.route("/<uuid:einvoice_id>/retry/")
class EInvoiceRetry(MethodView):
    @authenticated(blp, staff=True)
    @document_errors(blp, 404, 409)
    @blp.response(202, StaffEInvoiceSchema)
    def post(self, einvoice_id: uuid.UUID) -> Any:
        """Send a failed e-invoice to ECPay again (staff only), with the customer's invoice
        details as they are now; 409 `einvoice_not_failed` for any other state."""
        user = current_user()
        return queue.retry(db_session(), clock(), jobs(), actor(user), einvoice_id)
