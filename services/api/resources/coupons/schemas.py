"""Coupon schemas."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.api.resources.common import Money, PageArgsSchema, Text
from services.core.domain.discounts import CouponKind, Duration


class CouponSchema(Schema):
    id = fields.UUID(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, metadata={"description": "percent | amount"})
    percent_off = fields.Integer(allow_none=True, required=True)
    amount_off = Money(allow_none=True, required=True,
                       metadata={"description": "NT$ off each discounted period, tax included"})
    duration = fields.String(required=True, metadata={"description": "once | repeating | forever"})
    duration_periods = fields.Integer(allow_none=True, required=True)
    max_redemptions = fields.Integer(allow_none=True, required=True)
    times_redeemed = fields.Integer(required=True)
    redeem_by = fields.AwareDateTime(allow_none=True, required=True)
    plan_ids = fields.List(fields.String(), required=True,
                           metadata={"description": "the plans it is for; empty: every plan"})
    active = fields.Boolean(required=True)
    created_at = fields.AwareDateTime(required=True)


class CouponCreateSchema(Schema):
    code = Text(40, min_length=3, required=True,
                metadata={"description": "what customers type; stored upper case"})
    name = Text(100, load_default="")
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in CouponKind]))
    percent_off = fields.Integer(validate=validate.Range(min=1, max=100))
    amount_off = fields.Integer(validate=validate.Range(min=1, max=10_000_000),
                                metadata={"description": "whole NT$, tax included"})
    duration = fields.String(required=True,
                             validate=validate.OneOf([d.value for d in Duration]))
    duration_periods = fields.Integer(validate=validate.Range(min=1, max=1200))
    max_redemptions = fields.Integer(validate=validate.Range(min=1, max=10_000_000))
    redeem_by = fields.AwareDateTime(metadata={"description": "no redemption after this"})
    plan_ids = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=100))

    @validates_schema
    def one_kind(self, data: dict[str, object], **_: object) -> None:
        wanted = "percent_off" if data.get("kind") == CouponKind.PERCENT else "amount_off"
        if data.get(wanted) is None:
            raise ValidationError(f"{wanted} is required for this kind.", field_name=wanted)


class CouponListArgsSchema(PageArgsSchema):
    active = fields.Boolean()


class CouponCodeSchema(Schema):
    code = Text(40, min_length=1, required=True)


class RedemptionSchema(Schema):
    id = fields.UUID(required=True)
    coupon_id = fields.UUID(required=True)
    subscription_id = fields.UUID(required=True)
    periods_used = fields.Integer(required=True)
    source = fields.String(required=True, metadata={"description": "checkout | staff"})
    created_at = fields.AwareDateTime(required=True)
