"""Order schemas."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.api.resources.common import Money, PageArgsSchema, Text
from services.core.domain.states import OrderStatus
from services.core.usecases.orders import PAYMENT_METHODS


class OrderSchema(Schema):
    id = fields.UUID(required=True)
    order_number = fields.String(required=True)
    user_id = fields.UUID(required=True)
    subscription_id = fields.UUID(required=True)
    plan_id = fields.UUID(required=True)
    amount = Money(required=True)
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
    created_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(required=True)


class OrderCreateSchema(Schema):
    subscription_id = fields.UUID(required=True)
    payment_method = fields.String(required=True, validate=validate.OneOf(PAYMENT_METHODS))


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
