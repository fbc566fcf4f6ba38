"""Invoice endpoints: your own, or all for staff."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from services.api.resources.common import (
    actor,
    authenticated,
    document_errors,
    page_body,
    page_schema,
)
from services.api.resources.invoices.schemas import (
    InvoiceAnnotationSchema,
    InvoiceListArgsSchema,
    InvoiceSchema,
)
from services.core.usecases import billing_queries
from services.core.usecases.backoffice import annotations
from services.core.usecases.integrations.api_keys import BILLING_READ
from services.web.auth import current_user
from services.web.reads import read_session
from services.web.uow import db_session

blp = Blueprint("invoices", __name__, url_prefix="/api/invoices", description="Invoices")
InvoicePageSchema = page_schema(InvoiceSchema, "InvoicePage")


@blp.route("/")
class Invoices(MethodView):
    @authenticated(blp, scope=BILLING_READ)
    @document_errors(blp, 422)
    @blp.arguments(InvoiceListArgsSchema(), location="query")
    @blp.response(200, InvoicePageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Your invoices, newest first (everyone's for staff, filter by `user_id`)."""
        return page_body(billing_queries.list_invoices(read_session(), current_user(), **args))


@blp.route("/<uuid:invoice_id>/")
class InvoiceDetail(MethodView):
    @authenticated(blp, scope=BILLING_READ)
    @document_errors(blp, 404)
    @blp.response(200, InvoiceSchema)
    def get(self, invoice_id: uuid.UUID) -> Any:
        """One of your invoices (any, for staff)."""
        return billing_queries.get_invoice(db_session(), current_user(), invoice_id)

    @authenticated(blp, staff=True)
    @document_errors(blp, 404, 422)
    @blp.arguments(InvoiceAnnotationSchema())
    @blp.response(200, InvoiceSchema)
    def patch(self, data: dict[str, Any], invoice_id: uuid.UUID) -> Any:
        """Set or remove the note and metadata of an invoice (staff only); the customer sees
        them too, so nothing secret belongs there."""
        fields = {("metadata" if name == "meta" else name): value for name, value in data.items()}
        caller = current_user()
        return annotations.annotate_invoice(db_session(), actor(caller), caller, invoice_id,
                                            fields)
