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
    max_users = fields.Integer(allow_none=True, required=True)
    max_storage_gb = fields.Integer(allow_none=True, required=True)
    is_popular = fields.Boolean(required=True)
    sort_order = fields.Integer(required=True)
    trial_days = fields.Integer(required=True)
