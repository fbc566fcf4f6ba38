"""E-invoices: every sale's uniform invoice state and a retry after a refusal (staff), and an
advisory check of a barcode or love code (any customer)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
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
from services.api.resources.einvoices.schemas import (
    EInvoiceCheckResultSchema,
    EInvoiceCheckSchema,
    EInvoiceListArgsSchema,
    StaffEInvoiceSchema,
)
from services.core.usecases.einvoices import advisory, preferences, queue
from services.ecpay.einvoice import EInvoiceClient
from services.web.auth import current_user
from services.web.reads import read_session
from services.web.uow import app_settings, db_session, jobs

blp = Blueprint("einvoices", __name__, url_prefix="/api/einvoices",
                description="Taiwan e-invoices (staff)")
EInvoicePageSchema = page_schema(StaffEInvoiceSchema, "EInvoicePage")


@blp.route("/")
class EInvoices(MethodView):
    @authenticated(blp, staff=True)
    @document_errors(blp, 422)
    @blp.arguments(EInvoiceListArgsSchema(), location="query")
    @blp.response(200, EInvoicePageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Every sale's e-invoice, newest first (staff only).

        `?status=failed` lists what ECPay refused (`last_error` has its message);
        `?status=pending` what the worker has not issued yet (retried with back-off).
        """
        return page_body(queue.list_einvoices(read_session(), **args))


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


# ECPay asks the Ministry of Finance; a customer filling in a form should not wait long.
CHECK_TIMEOUT_SECONDS = 5.0


@blp.route("/check/")
class EInvoiceCodeCheck(MethodView):
    @authenticated(blp)
    @document_errors(blp, 422)
    @blp.arguments(EInvoiceCheckSchema())
    @blp.response(200, EInvoiceCheckResultSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Is this mobile barcode (手機條碼) or love code (捐贈碼) registered? Advisory: the
        answer never blocks saving or paying (the Ministry's check has outages)."""
        settings = app_settings()
        with EInvoiceClient(settings.einvoice_url, settings.einvoice_merchant_id,
                            settings.einvoice_hash_key, settings.einvoice_hash_iv,
                            now=lambda: datetime.now(UTC),
                            timeout=CHECK_TIMEOUT_SECONDS) as gateway:
            return advisory.check(gateway, preferences.from_mapping(data))
