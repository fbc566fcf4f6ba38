"""Invoice schemas."""

from __future__ import annotations

from marshmallow import Schema, fields

from services.api.resources.common import Money, PageArgsSchema


class InvoiceSchema(Schema):
    id = fields.UUID(required=True)
    invoice_number = fields.String(required=True)
    order_id = fields.UUID(required=True)
    user_id = fields.UUID(required=True)
    amount = Money(required=True, metadata={"description": "net of tax"})
    tax_amount = Money(required=True)
    total_amount = Money(required=True)
    currency = fields.String(required=True)
    buyer_name = fields.String(required=True)
    buyer_email = fields.String(required=True)
    buyer_tax_id = fields.String(required=True)
    description = fields.String(required=True)
    issued_at = fields.AwareDateTime(required=True)
    paid_at = fields.AwareDateTime(allow_none=True, required=True)
    pdf_url = fields.String(allow_none=True, required=True)
    created_at = fields.AwareDateTime(required=True)


class InvoiceListArgsSchema(PageArgsSchema):
    user_id = fields.UUID(metadata={"description": "staff only"})
