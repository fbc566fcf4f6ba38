"""Customer-history schemas (staff): the existing resource schemas, nested per customer."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.api.resources.audit_logs.schemas import AuditLogSchema
from services.api.resources.common import Money, Text
from services.api.resources.einvoices.schemas import StaffEInvoiceSchema
from services.api.resources.invoices.schemas import InvoiceSchema
from services.api.resources.orders.schemas import OrderSchema
from services.api.resources.refunds.schemas import RefundSchema
from services.api.resources.subscriptions.schemas import SubscriptionSchema
from services.api.resources.users.schemas import UserSchema
from services.core.usecases.backoffice.resend import KINDS


class AttemptSchema(Schema):
    id = fields.UUID(required=True)
    merchant_trade_no = fields.String(required=True)
    method = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "open|paid|failed|expired"})
    trade_no = fields.String(allow_none=True, required=True)
    failure_reason = fields.String(allow_none=True, required=True)
    payable_until = fields.AwareDateTime(allow_none=True, required=True)
    created_at = fields.AwareDateTime(required=True)


class HistoryOrderSchema(Schema):
    order = fields.Nested(OrderSchema, required=True)
    attempts = fields.List(fields.Nested(AttemptSchema), required=True,
                           metadata={"description": "payment attempts, newest first"})
    refunds = fields.List(fields.Nested(RefundSchema), required=True)


class PlanNameSchema(Schema):
    id = fields.UUID(required=True)
    slug = fields.String(required=True)
    name = fields.String(required=True)


class AgreementSchema(Schema):
    id = fields.UUID(required=True)
    subscription_id = fields.UUID(required=True)
    merchant_trade_no = fields.String(required=True)
    status = fields.String(required=True)
    period_type = fields.String(required=True)
    frequency = fields.Integer(required=True)
    exec_times = fields.Integer(required=True)
    period_amount = fields.Integer(required=True)
    first_charged_at = fields.AwareDateTime(required=True)
    cancel_reason = fields.String(allow_none=True, required=True)
    cancelled_at = fields.AwareDateTime(allow_none=True, required=True)
    last_error = fields.String(allow_none=True, required=True)


class CustomerCreditSchema(Schema):
    id = fields.UUID(required=True)
    amount = Money(required=True, metadata={"description": "positive: granted; negative: used"})
    kind = fields.String(required=True)
    order_id = fields.UUID(allow_none=True, required=True)
    note = fields.String(required=True)
    created_at = fields.AwareDateTime(required=True)


class EmailSentSchema(Schema):
    id = fields.UUID(required=True)
    template = fields.String(required=True)
    recipient = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "pending | sent | failed"})
    attempts = fields.Integer(required=True)
    last_error = fields.String(allow_none=True, required=True)
    sent_at = fields.AwareDateTime(allow_none=True, required=True)
    created_at = fields.AwareDateTime(required=True)


class CustomerHistorySchema(Schema):
    user = fields.Nested(UserSchema, required=True)
    credit_balance = Money(required=True, metadata={"description": "credit the customer holds"})
    plans = fields.List(fields.Nested(PlanNameSchema), required=True,
                        metadata={"description": "the plans the rows below name"})
    subscriptions = fields.List(fields.Nested(SubscriptionSchema), required=True)
    orders = fields.List(fields.Nested(HistoryOrderSchema), required=True)
    invoices = fields.List(fields.Nested(InvoiceSchema), required=True)
    einvoices = fields.List(fields.Nested(StaffEInvoiceSchema), required=True)
    refunds = fields.List(fields.Nested(RefundSchema), required=True)
    card_agreements = fields.List(fields.Nested(AgreementSchema), required=True)
    credit_entries = fields.List(fields.Nested(CustomerCreditSchema), required=True)
    emails = fields.List(fields.Nested(EmailSentSchema), required=True)
    audit = fields.List(fields.Nested(AuditLogSchema), required=True)


class InvoiceResendSchema(Schema):
    kind = fields.String(load_default="invoice", validate=validate.OneOf(list(KINDS)), metadata={
        "description": "invoice: the receipt e-mail with its PDF; einvoice: the e-invoice notice"})


class ResendKeyHeaderSchema(Schema):
    idempotency_key = Text(
        100, data_key="Idempotency-Key",
        validate=validate.Regexp(r"^[\x21-\x7e]+$", error="Printable ASCII, no spaces."),
        metadata={"description": "the same key again sends nothing more"})


class ResentSchema(Schema):
    invoice_id = fields.UUID(required=True)
    kind = fields.String(required=True)
    delivery_id = fields.UUID(required=True)
    recipient = fields.String(required=True)
