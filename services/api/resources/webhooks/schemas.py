"""Webhook endpoint, delivery and event schemas."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.api.resources.common import PageArgsSchema, Text
from services.core.usecases.webhooks.events import ALL, EVENT_TYPES

EventType = Text(64, validate=validate.OneOf((*EVENT_TYPES, ALL)))


class EndpointCreateSchema(Schema):
    url = Text(2000, min_length=8, required=True)
    event_types = fields.List(EventType, required=True, validate=validate.Length(min=1, max=20),
                              metadata={"description": f"any of {', '.join(EVENT_TYPES)}, or *"})
    description = Text(200, load_default="")


class EndpointUpdateSchema(Schema):
    url = Text(2000, min_length=8)
    event_types = fields.List(EventType, validate=validate.Length(min=1, max=20))
    description = Text(200)
    enabled = fields.Boolean(metadata={"description": "true re-enables a disabled endpoint"})


class EndpointSchema(Schema):
    id = fields.UUID(required=True)
    url = fields.String(required=True)
    description = fields.String(required=True)
    event_types = fields.List(fields.String(), required=True)
    enabled = fields.Boolean(required=True)
    disabled_at = fields.AwareDateTime(allow_none=True, required=True)
    disabled_reason = fields.String(required=True)
    previous_secret_expires_at = fields.AwareDateTime(
        allow_none=True, required=True,
        metadata={"description": "until then deliveries carry a signature with the old secret"})
    created_at = fields.AwareDateTime(required=True)


class EndpointWithSecretSchema(EndpointSchema):
    secret = fields.String(required=True, metadata={
        "description": "whsec_…, shown only in this answer; verify deliveries with it"})


class EndpointListSchema(Schema):
    results = fields.List(fields.Nested(EndpointSchema), required=True)


class DeliverySchema(Schema):
    id = fields.UUID(required=True)
    event_id = fields.String(required=True)
    event_type = fields.String(attribute="event.type", required=True)
    status = fields.String(required=True, metadata={"description": "pending, succeeded, failed"})
    attempts = fields.Integer(required=True)
    next_attempt_at = fields.AwareDateTime(allow_none=True, required=True)
    last_attempt_at = fields.AwareDateTime(allow_none=True, required=True)
    http_status = fields.Integer(allow_none=True, required=True)
    last_error = fields.String(required=True)
    response_excerpt = fields.String(required=True)
    created_at = fields.AwareDateTime(required=True)


class DeliveryArgsSchema(PageArgsSchema):
    status = Text(16, validate=validate.OneOf(("pending", "succeeded", "failed")))


class ResendSchema(Schema):
    event_id = Text(40, min_length=5, required=True)


class ReplaySchema(Schema):
    since = fields.AwareDateTime(required=True, data_key="from",
                                 metadata={"description": "inclusive, ISO 8601 with offset"})
    until = fields.AwareDateTime(required=True, data_key="to",
                                 metadata={"description": "exclusive, ISO 8601 with offset"})
    only_failed = fields.Boolean(load_default=False)


class ReplayedSchema(Schema):
    deliveries = fields.Integer(required=True)


class EventSchema(Schema):
    id = fields.String(required=True)
    type = fields.String(required=True)
    occurred_at = fields.AwareDateTime(required=True)
    data = fields.Dict(required=True)


class EventArgsSchema(PageArgsSchema):
    type = EventType
    since = fields.AwareDateTime()
    until = fields.AwareDateTime()
