"""E-invoice schemas (staff)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

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


class EInvoiceCheckSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["mobile_barcode", "donation"]))
    carrier_num = fields.String(validate=validate.Length(max=64))
    love_code = fields.String(validate=validate.Length(max=7))


class EInvoiceCheckResultSchema(Schema):
    registration = fields.String(required=True, metadata={
        "description": "registered, not_registered or unknown (ECPay/the Ministry did not "
                       "answer); advisory only: the format decides what is accepted"})
    code = fields.String(required=True)
    message = fields.String(required=True)
