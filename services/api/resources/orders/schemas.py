"""Order schemas."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.api.resources.common import Money, PageArgsSchema, Text
from services.core.domain.einvoice_buyer import InvoiceKind
from services.core.domain.states import OrderStatus
from services.core.usecases.orders import PAYMENT_METHODS
from services.core.usecases.refunds.settle import refunded_amount_of


class OrderSchema(Schema):
    id = fields.UUID(required=True)
    order_number = fields.String(required=True)
    user_id = fields.UUID(required=True)
    subscription_id = fields.UUID(required=True)
    plan_id = fields.UUID(required=True)
    amount = Money(required=True)
    discount = Money(required=True, metadata={"description": "a coupon's part, taken off "
                                                             "the list price (NT$)"})
    currency = fields.String(required=True)
    status = fields.String(required=True)
    payment_method = fields.String(required=True)
    is_renewal = fields.Boolean(required=True)
    period_start = fields.AwareDateTime(allow_none=True, required=True)
    period_end = fields.AwareDateTime(allow_none=True, required=True)
    payment_info = fields.Dict(allow_none=True, required=True)
    expire_at = fields.AwareDateTime(allow_none=True, required=True)
    paid_at = fields.AwareDateTime(allow_none=True, required=True)
    failure_reason = fields.String(allow_none=True, required=True)
    payment_id = fields.String(
        attribute="ecpay_trade_no", allow_none=True, required=True, metadata={
            "description": "ECPay's trade number (TradeNo) of the payment that completed the"
                           " order, as refunds and reconciliation name it; null until paid"})
    ip_address = fields.String(attribute="client_ip", allow_none=True, required=True, metadata={
        "description": "the customer's IP address when the order was placed"})
    notes = fields.String(allow_none=True, required=True, metadata={
        "description": "staff's note on the order (visible to the customer)"})
    invoice_preference = fields.Dict(allow_none=True, required=True, metadata={
        "description": "e-invoice details chosen at checkout (null: the account's)"})
    created_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(required=True)
    refunded_amount = fields.Function(
        lambda o: str(refunded_amount_of(o, o.id)), required=True,
        metadata={"format": "decimal", "description": "money refunded so far (NT$)"})


INVOICE_KIND_VALUES = [kind.value for kind in InvoiceKind]


class InvoicePreferenceSchema(Schema):
    """This order's e-invoice (電子發票) details; omitted: the account's."""

    kind = fields.String(required=True, validate=validate.OneOf(INVOICE_KIND_VALUES),
                         metadata={"description": "cloud, mobile_barcode, certificate,"
                                                  " donation or company"})
    carrier_num = Text(64, metadata={"description": "mobile barcode (/ + 7) or certificate"})
    love_code = Text(7, metadata={"description": "捐贈碼, 3–7 digits"})
    tax_id = Text(8, metadata={"description": "統一編號 (company)"})
    company_name = Text(200)
    address = Text(200, metadata={"description": "for a printed company invoice"})
    company_print = fields.Boolean(metadata={"description": "company: print on paper"})


class OrderCreateSchema(Schema):
    subscription_id = fields.UUID(required=True)
    payment_method = fields.String(required=True, validate=validate.OneOf(PAYMENT_METHODS))
    invoice = fields.Nested(InvoicePreferenceSchema)
    coupon_code = fields.String(validate=validate.Length(min=1, max=40), metadata={
        "description": "a coupon to redeem on the subscription before the order is priced"})


class OrderNotesSchema(Schema):
    notes = fields.String(required=True, allow_none=True, validate=validate.Length(max=1000),
                          metadata={"description": "null or empty removes the note"})


class IdempotencyHeaderSchema(Schema):
    idempotency_key = Text(
        100, min_length=1, data_key="Idempotency-Key",
        validate=validate.Regexp(r"^[\x21-\x7e]+$", error="Printable ASCII, no spaces."),
        metadata={"description": "repeat a POST safely: the same key returns the first order"},
    )


class OrderListArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf([s.value for s in OrderStatus]))
    subscription_id = fields.UUID()
    user_id = fields.UUID(metadata={"description": "staff only"})
