"""Subscription schemas."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.api.resources.common import PageArgsSchema
from services.core.domain.states import SubscriptionStatus

STATUSES = validate.OneOf([s.value for s in SubscriptionStatus])


class CardAgreementSchema(Schema):
    merchant_trade_no = fields.String(required=True)
    status = fields.String(
        required=True,
        metadata={"description": "active | cancelling (ECPay not yet confirmed) | cancelled | "
                                 "ended (ECPay stopped it)"},
    )
    period_amount = fields.Integer(required=True)
    cancel_requested_at = fields.AwareDateTime(allow_none=True, required=True)
    cancelled_at = fields.AwareDateTime(allow_none=True, required=True)


class SubscriptionSchema(Schema):
    id = fields.UUID(required=True)
    user_id = fields.UUID(required=True)
    plan_id = fields.UUID(required=True)
    status = fields.String(required=True)
    start_date = fields.AwareDateTime(allow_none=True, required=True)
    end_date = fields.AwareDateTime(allow_none=True, required=True)
    trial_end_date = fields.AwareDateTime(allow_none=True, required=True)
    auto_renew = fields.Boolean(required=True)
    cancel_at_period_end = fields.Boolean(required=True)
    cancelled_at = fields.AwareDateTime(allow_none=True, required=True)
    payment_method = fields.String(allow_none=True, required=True)
    card_agreement = fields.Nested(
        CardAgreementSchema, allow_none=True, required=True,
        metadata={"description": "the newest 定期定額 card agreement, or null"},
    )
    scheduled_change = fields.Nested(
        "ScheduledChangeSchema", allow_none=True, required=True,
        metadata={"description": "a plan change waiting for the period end (cancel it with "
                                 "DELETE …/change-plan/), or null"},
    )
    created_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(required=True)


class ScheduledChangeSchema(Schema):
    id = fields.UUID(required=True)
    to_plan_id = fields.UUID(required=True)
    policy = fields.String(required=True)
    effective_at = fields.AwareDateTime(required=True)


class SubscriptionCreateSchema(Schema):
    plan_id = fields.UUID(required=True)
    auto_renew = fields.Boolean(load_default=True)
    coupon_code = fields.String(validate=validate.Length(min=1, max=40), metadata={
        "description": "a coupon to redeem (422 coupon_unknown, coupon_expired, "
                       "coupon_exhausted or coupon_not_for_plan if it cannot be)"})


class SubscriptionUpdateSchema(Schema):
    auto_renew = fields.Boolean(required=True)


class StatusChangeSchema(Schema):
    status = fields.String(required=True, validate=STATUSES)
    at_period_end = fields.Boolean(
        load_default=False,
        metadata={"description": "with status cancelled: stay active until end_date"},
    )


class SubscriptionListArgsSchema(PageArgsSchema):
    status = fields.String(validate=STATUSES)
    user_id = fields.UUID(metadata={"description": "staff only"})
