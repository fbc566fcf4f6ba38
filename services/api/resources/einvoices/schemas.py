"""E-invoice schemas (staff)."""

from __future__ import annotations

from marshmallow import fields, validate

from services.api.resources.common import PageArgsSchema
from services.api.resources.invoices.schemas import EInvoiceSchema
from services.core.usecases.einvoices.states import EInvoiceStatus


class StaffEInvoiceSchema(EInvoiceSchema):
    order_id = fields.UUID(required=True)
    invoice_id = fields.UUID(required=True)
    user_id = fields.UUID(required=True)
    relate_number = fields.String(required=True)
    attempts = fields.Integer(required=True)
    next_attempt_at = fields.AwareDateTime(allow_none=True, required=True)
    last_error = fields.String(required=True, metadata={"description": "ECPay's last answer"})
    created_at = fields.AwareDateTime(required=True)


class EInvoiceListArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf([s.value for s in EInvoiceStatus]))
    reason = fields.String(validate=validate.Length(max=32))
    order_id = fields.UUID()
