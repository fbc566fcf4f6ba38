"""Plan schema (read-only: plans come from Plan resources through the operator)."""

from __future__ import annotations

from marshmallow import Schema, fields

from services.api.resources.common import Money


class PlanSchema(Schema):
    id = fields.UUID(required=True)
    slug = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    price = Money(required=True)
    currency = fields.String(required=True)
    billing_cycle = fields.String(required=True)
    features = fields.List(fields.String(), required=True)
    translations = fields.Dict(
        keys=fields.String(), values=fields.Dict(), required=True,
        metadata={"description": "by language (zh-TW, en): name, description and features "
                                 "where the Plan resource translates them; show the default "
                                 "field for any that is missing",
                  "example": {"zh-TW": {"name": "專業版", "features": ["最多 15 位團隊成員"]}}})
    max_users = fields.Integer(allow_none=True, required=True)
    max_storage_gb = fields.Integer(allow_none=True, required=True)
    is_popular = fields.Boolean(required=True)
    sort_order = fields.Integer(required=True)
    trial_days = fields.Integer(required=True)
