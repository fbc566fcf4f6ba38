"""Staff back office: a customer's history (`/api/users/<id>/history/`) and sending an
invoice's e-mail again (`/api/invoices/<id>/resend/`). Refunds, cancellations and the queues
keep their own resources; this only reads and resends."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from services.api.resources.common import actor, authenticated, clock, document_errors
from services.api.resources.customers.schemas import (
    CustomerHistorySchema,
    InvoiceResendSchema,
    ResendKeyHeaderSchema,
    ResentSchema,
)
from services.core.usecases.backoffice import customers, resend
from services.web.auth import current_user
from services.web.uow import db_session, jobs

blp = Blueprint("customers", __name__, url_prefix="/api", description="Staff back office")


@blp.route("/users/<uuid:user_id>/history/")
class CustomerHistory(MethodView):
    @authenticated(blp, staff=True)
    @document_errors(blp, 404)
    @blp.response(200, CustomerHistorySchema)
    def get(self, user_id: uuid.UUID) -> Any:
        """One customer's subscriptions, orders with their payment attempts and refunds,
        invoices, e-invoices, card agreements, credit, e-mails and audit trail, newest first
        (staff only; at most 200 of each kind)."""
        return customers.history(db_session(), user_id)


@blp.route("/invoices/<uuid:invoice_id>/resend/")
class InvoiceResend(MethodView):
    @authenticated(blp, staff=True)
    @document_errors(blp, 404, 409, 422)
    @blp.arguments(ResendKeyHeaderSchema(), location="headers")
    @blp.arguments(InvoiceResendSchema())
    @blp.response(202, ResentSchema)
    def post(self, headers: dict[str, Any], data: dict[str, Any],
             invoice_id: uuid.UUID) -> Any:
        """Send the invoice e-mail (`kind` invoice: the receipt with its PDF) or the e-invoice
        notice (`einvoice`; 409 `einvoice_not_issued` before ECPay issued it) again to the
        customer's current address, in their language; audited (staff only). With an
        `Idempotency-Key`, a repeat sends nothing more."""
        user = current_user()
        sent = resend.resend_invoice(db_session(), clock(), jobs(), actor(user), user,
                                     invoice_id, kind=data["kind"],
                                     request_key=headers.get("idempotency_key"))
        return {"invoice_id": sent.invoice.id, "kind": sent.kind,
                "delivery_id": sent.delivery_id, "recipient": sent.recipient}, 202
