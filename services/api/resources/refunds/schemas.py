"""Refund schemas."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.api.resources.common import Money, Text
from services.core.usecases.refunds.requests import REASON_MAX
from services.core.usecases.refunds.states import (
    CancelChoice,
    EInvoiceStep,
    RefundMethod,
    RefundStatus,
)
from services.web.auth import current_user


class RefundSchema(Schema):
    id = fields.UUID(required=True)
    order_id = fields.UUID(required=True)
    amount = Money(required=True)
    currency = fields.String(required=True)
    # Staff write the reason for each other and the books; the customer is told by e-mail
    # in their own words, so the note stays internal.
    reason = fields.Function(
        lambda r: r.reason if current_user().is_staff else "", required=True,
        metadata={"description": "why staff refunded (staff only; empty for the customer)"})
    method = fields.String(required=True, metadata={
        "enum": [m.value for m in RefundMethod],
        "description": "card: back through ECPay; manual: a bank transfer staff confirm"})
    status = fields.String(required=True, metadata={
        "enum": [s.value for s in RefundStatus],
        "description": "card: requested → sent → succeeded | failed; manual: owed → confirmed"})
    cancel_subscription = fields.String(required=True)
    review_id = fields.UUID(allow_none=True, required=True)
    last_error = fields.Function(
        lambda r: r.last_error if current_user().is_staff else "", required=True,
        metadata={"description": "ECPay's last answer (staff only; empty for the customer)"})
    attempts = fields.Integer(required=True)
    next_attempt_at = fields.AwareDateTime(allow_none=True, required=True)
    completed_at = fields.AwareDateTime(allow_none=True, required=True,
                                        metadata={"description": "when the money went back"})
    failed_at = fields.AwareDateTime(allow_none=True, required=True)
    transfer_reference = fields.String(allow_none=True, required=True)
    einvoice_status = fields.String(required=True, metadata={
        "enum": [s.value for s in EInvoiceStep]})
    einvoice_correction = fields.Function(
        lambda r: (r.einvoice_result or {}).get("correction"), allow_none=True, required=True,
        metadata={"description": "void or allowance, once done"})
    created_at = fields.AwareDateTime(required=True)


class RefundCreateSchema(Schema):
    # A string of digits: a fraction or a float is refused, never rounded.
    amount = Text(8, required=True, validate=validate.Regexp(
        r"^([1-9][0-9]{0,7}|unused)$", error="A whole number of NT$, at least 1, or unused."),
        metadata={"description": "NT$, whole dollars; or `unused`: the days left of the "
                                 "order's period, day-based (with cancel_subscription now)",
                  "example": "990"})
    reason = Text(REASON_MAX, min_length=1, required=True)
    cancel_subscription = fields.String(
        load_default=CancelChoice.NO.value,
        validate=validate.OneOf([c.value for c in CancelChoice]))
    review_id = fields.UUID(metadata={
        "description": "a payment review item decided refund_needed that this refund settles"})


class RefundKeyHeaderSchema(Schema):
    idempotency_key = Text(
        100, min_length=1, required=True, data_key="Idempotency-Key",
        validate=validate.Regexp(r"^[\x21-\x7e]+$", error="Printable ASCII, no spaces."),
        metadata={"description": "required: a retry with the same key returns the first refund"},
    )


class RefundConfirmSchema(Schema):
    reference = Text(100, min_length=1, required=True,
                     metadata={"description": "the bank transfer's reference"})


class RefundListSchema(Schema):
    results = fields.List(fields.Nested(RefundSchema), required=True)
    refunded_amount = Money(required=True, metadata={"description": "money back so far"})


class ReviewRefundSchema(Schema):
    amount = Text(8, validate=validate.Regexp(
        r"^[1-9][0-9]{0,7}$", error="A whole number of NT$, at least 1."),
        metadata={"description": "NT$; omitted: the item's whole amount", "example": "990"})
    reason = Text(REASON_MAX, min_length=1, required=True)
