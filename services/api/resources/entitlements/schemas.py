"""Entitlement and customer-lookup schemas."""

from __future__ import annotations

from marshmallow import Schema, fields

from services.api.resources.common import PageArgsSchema, Text

EXTERNAL_ID = Text(255, min_length=1)
REASONS = ("trial: in the trial; paid: a paid period that will renew; cancelling: a paid"
           " period that will not renew; grace: the renewal is unpaid, within the plan's"
           " grace days")


class PlanGrantSchema(Schema):
    subscription_id = fields.String(required=True)
    slug = fields.String(required=True)
    name = fields.String(required=True)
    features = fields.List(fields.String(), required=True)
    max_users = fields.Integer(allow_none=True, required=True,
                               metadata={"description": "null: unlimited"})
    max_storage_gb = fields.Integer(allow_none=True, required=True,
                                    metadata={"description": "null: unlimited"})
    reason = fields.String(required=True, metadata={"description": REASONS})
    until = fields.AwareDateTime(allow_none=True, required=True, metadata={
        "description": "when this plan's access ends unless paid; null: no end known"})


class EntitlementsSchema(Schema):
    customer_id = fields.UUID(required=True)
    external_id = fields.String(allow_none=True, required=True)
    as_of = fields.AwareDateTime(required=True)
    active = fields.Boolean(attribute="granted.active", required=True,
                            metadata={"description": "at least one plan grants access"})
    plans = fields.List(fields.Nested(PlanGrantSchema), attribute="granted.plans",
                        required=True)
    features = fields.List(fields.String(), attribute="granted.features", required=True,
                           metadata={"description": "the union over the plans"})
    max_users = fields.Integer(
        allow_none=True, attribute="granted.max_users", required=True,
        metadata={"description": "the largest over the plans; null unlimited; 0 no plan"})
    max_storage_gb = fields.Integer(
        allow_none=True, attribute="granted.max_storage_gb", required=True,
        metadata={"description": "the largest over the plans; null unlimited; 0 no plan"})
    until = fields.AwareDateTime(
        allow_none=True, attribute="granted.until", required=True,
        metadata={"description": "the latest end over the plans (null when inactive or no"
                                 " end is known)"})


class CustomerListArgsSchema(PageArgsSchema):
    external_id = EXTERNAL_ID
