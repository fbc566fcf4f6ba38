"""Invoice schemas."""

from __future__ import annotations

from marshmallow import Schema, fields

from services.api.resources.common import PageArgsSchema


class InvoiceSchema(Schema):
    id = fields.UUID(required=True)
    invoice_number = fields.String(required=True)
    order_id = fields.UUID(required=True)
    user_id = fields.UUID(required=True)
    amount = fields.Decimal(as_string=True, required=True, metadata={"description": "net"})
    tax_amount = fields.Decimal(as_string=True, required=True)
    total_amount = fields.Decimal(as_string=True, required=True)
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
