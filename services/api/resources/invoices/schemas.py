"""Invoice schemas."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.api.resources.common import Money, PageArgsSchema
from services.core.usecases.refunds.settle import refunded_amount_of


class EInvoiceSchema(Schema):
    """The uniform invoice (統一發票) issued through ECPay for the sale."""

    id = fields.UUID(required=True)
    status = fields.String(required=True, metadata={
        "description": "pending, issued, failed, voided or not_issued"})
    reason = fields.String(required=True, metadata={
        "description": "why not issued or why it failed"})
    invoice_no = fields.String(allow_none=True, required=True)
    number = fields.String(attribute="display_number", required=True,
                           metadata={"description": "as printed, e.g. AB-12345678"})
    invoice_date = fields.AwareDateTime(allow_none=True, required=True)
    random_number = fields.String(required=True)
    kind = fields.Function(lambda e: e.buyer.get("kind", ""), required=True)
    carrier_type = fields.Function(lambda e: e.buyer.get("carrier_type", ""), required=True)
    carrier_num = fields.Function(lambda e: e.buyer.get("carrier_num", ""), required=True)
    love_code = fields.Function(lambda e: e.buyer.get("love_code", ""), required=True)
    buyer_tax_id = fields.Function(lambda e: e.buyer.get("customer_identifier", ""),
                                   required=True)
    sales_amount = fields.Integer(required=True)
    tax_amount = fields.Integer(required=True)
    remaining_allowance = fields.Integer(required=True)
    issued_at = fields.AwareDateTime(allow_none=True, required=True)


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
    notes = fields.String(allow_none=True, required=True, metadata={
        "description": "staff's note on the invoice (visible to the customer)"})
    meta = fields.Dict(keys=fields.String(), values=fields.String(), data_key="metadata",
                       allow_none=True, required=True, metadata={
                           "description": "staff's key-value metadata (visible to the customer)"})
    created_at = fields.AwareDateTime(required=True)
    einvoice = fields.Nested(EInvoiceSchema, allow_none=True, required=True)
    refunded_amount = fields.Function(
        lambda i: str(refunded_amount_of(i, i.order_id)), required=True,
        metadata={"format": "decimal", "description": "money refunded so far (NT$)"})


class InvoiceAnnotationSchema(Schema):
    """A PATCH: send `notes`, `metadata` or both; null or empty removes."""

    notes = fields.String(allow_none=True, validate=validate.Length(max=1000))
    meta = fields.Dict(keys=fields.String(), values=fields.String(), data_key="metadata",
                       allow_none=True, metadata={
                           "description": "at most 20 keys of 1-40 characters, string values"
                                          " of at most 500"})


class InvoiceListArgsSchema(PageArgsSchema):
    user_id = fields.UUID(metadata={"description": "staff only"})
