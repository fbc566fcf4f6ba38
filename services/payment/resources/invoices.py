"""The invoice of a paid order, for its owner or staff."""

from __future__ import annotations

import uuid

import marshmallow as ma
from flask import Response, send_file
from flask.views import MethodView
from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint

from services.core.db.models import Invoice
from services.core.usecases.checkout import invoice_of_order
from services.core.usecases.invoice_pdf import render_invoice_pdf
from services.payment.context import settings
from services.web.auth import current_user
from services.web.uow import db_session

blp = Blueprint("payment_invoices", __name__, url_prefix="/payment/invoice",
                description="Invoices of paid orders.")


class InvoiceSchema(ma.Schema):
    id = ma.fields.UUID()
    invoice_number = ma.fields.String()
    order_id = ma.fields.UUID()
    amount = ma.fields.Decimal(as_string=True, metadata={"description": "net of tax"})
    tax_amount = ma.fields.Decimal(as_string=True, metadata={"description": "5% included"})
    total_amount = ma.fields.Decimal(as_string=True)
    currency = ma.fields.String()
    buyer_name = ma.fields.String()
    buyer_email = ma.fields.String()
    buyer_tax_id = ma.fields.String()
    description = ma.fields.String()
    issued_at = ma.fields.AwareDateTime()
    paid_at = ma.fields.AwareDateTime(allow_none=True)
    pdf_url = ma.fields.String(allow_none=True)


@blp.route("/<uuid:order_id>/")
class InvoiceOfOrder(MethodView):
    @jwt_required()
    @blp.response(200, InvoiceSchema)
    @blp.doc(security=[{"bearerAuth": []}])
    def get(self, order_id: uuid.UUID) -> Invoice:
        """The invoice of an order you own (staff: any order); 404 when unpaid or not yours."""
        return invoice_of_order(db_session(), order_id=order_id, viewer=current_user())


@blp.route("/<uuid:order_id>/pdf")
class InvoicePdf(MethodView):
    @jwt_required()
    @blp.response(200, description="The invoice as a PDF document (application/pdf).")
    @blp.doc(security=[{"bearerAuth": []}])
    def get(self, order_id: uuid.UUID) -> Response:
        """The invoice PDF of an order you own (staff: any order); 404 when unpaid or not yours.

        Rendered on demand when the worker has not written it yet (or the file store is not
        shared with this replica), so a paid order always has its PDF.
        """
        session = db_session()
        invoice = invoice_of_order(session, order_id=order_id, viewer=current_user())
        config = settings()
        path = render_invoice_pdf(
            session, invoice_id=invoice.id, invoice_dir=config.invoice_path,
            seller_name=config.seller_name, seller_tax_id=config.seller_tax_id,
        )
        return send_file(path, mimetype="application/pdf", as_attachment=True,
                         download_name=f"{invoice.invoice_number}.pdf", max_age=0)
