"""Test clock schemas, in Stripe's shape (frozen_time, status, name)."""

from __future__ import annotations

from marshmallow import Schema, fields

from services.api.resources.common import Text
from services.api.resources.users.schemas import ProfileSchema, email_field, username_field


class TestClockSchema(Schema):
    __test__ = False
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    frozen_time = fields.AwareDateTime(required=True)
    status = fields.String(required=True, metadata={"enum": ["ready", "advancing", "failed"]})
    advancing_to = fields.AwareDateTime(allow_none=True, required=True)
    steps = fields.Integer(required=True, metadata={
        "description": "boundaries the last advance stepped through so far"})
    last_error = fields.String(allow_none=True, required=True)
    customers = fields.Integer(required=True)
    created_at = fields.AwareDateTime(required=True)


class TestClockCreateSchema(Schema):
    __test__ = False
    name = Text(100, min_length=1, required=True)
    frozen_time = fields.AwareDateTime(metadata={"description": "start time; default now"})


class AdvanceSchema(Schema):
    frozen_time = fields.AwareDateTime(required=True, metadata={
        "description": "the new time; after the current one, at most two years ahead"})


class CustomerCreateSchema(ProfileSchema):
    username = username_field(required=True)
    email = email_field(required=True)
    password = Text(128, min_length=1, required=True, load_only=True)
    is_verified = fields.Boolean(load_default=True)


class CustomerSchema(Schema):
    id = fields.UUID(required=True)
    username = fields.String(required=True)
    email = fields.String(required=True)
    test_clock_id = fields.UUID(required=True)
    is_active = fields.Boolean(required=True)
    created_at = fields.AwareDateTime(required=True)


class CustomerListSchema(Schema):
    results = fields.List(fields.Nested(CustomerSchema), required=True)


