"""Payment review queue schemas."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from services.api.resources.common import Money, PageArgsSchema, Text
from services.core.usecases.payments.review_queue import DECISIONS, NOTE_MAX
from services.core.usecases.payments.reviews import ReviewReason, ReviewStatus


class PaymentReviewSchema(Schema):
    id = fields.UUID(required=True)
    status = fields.String(required=True, metadata={"enum": [s.value for s in ReviewStatus]})
    reason = fields.String(required=True, metadata={"enum": [r.value for r in ReviewReason]})
    amount = Money(allow_none=True, required=True)
    currency = fields.String(required=True, metadata={"example": "TWD"})
    merchant_trade_no = fields.String(required=True)
    gateway_trade_no = fields.String(required=True)
    order_id = fields.UUID(allow_none=True, required=True)
    order_number = fields.String(allow_none=True, required=True)
    subscription_id = fields.UUID(allow_none=True, required=True)
    user_id = fields.UUID(
        allow_none=True,
        required=True,
        metadata={"description": "the customer of the order, if any"},
    )
    detail = fields.String(required=True)
    arrived_at = fields.AwareDateTime(required=True)
    created_at = fields.AwareDateTime(required=True)
    resolved_at = fields.AwareDateTime(allow_none=True, required=True)
    resolved_by = fields.UUID(allow_none=True, required=True)
    resolution_note = fields.String(allow_none=True, required=True)


class PaymentReviewListArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf([s.value for s in ReviewStatus]))
    reason = fields.String(validate=validate.OneOf([r.value for r in ReviewReason]))


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("A note is required.")


class PaymentReviewResolveSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf([d.value for d in DECISIONS]))
    note = Text(
        NOTE_MAX,
        min_length=1,
        required=True,
        validate=_not_blank,
        metadata={"description": "what was done about the money, and why"},
    )
