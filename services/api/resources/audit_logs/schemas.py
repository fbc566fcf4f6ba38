"""Audit-log schemas."""

from __future__ import annotations

from marshmallow import Schema, fields

from services.api.resources.common import PageArgsSchema, Text


class AuditLogSchema(Schema):
    id = fields.UUID(required=True)
    user_id = fields.UUID(allow_none=True, required=True)
    action = fields.String(required=True)
    resource_type = fields.String(required=True)
    resource_id = fields.String(required=True)
    description = fields.String(required=True)
    ip_address = fields.String(allow_none=True, required=True)
    user_agent = fields.String(required=True)
    metadata = fields.Dict(attribute="meta", required=True)
    created_at = fields.AwareDateTime(required=True)


class StaffAuditLogSchema(AuditLogSchema):
    user_email = fields.String(allow_none=True, required=True,
                               metadata={"description": "the e-mail of `user_id`, if any"})
    user_name = fields.String(allow_none=True, required=True,
                              metadata={"description": "their name (or username), if any"})


class AuditLogArgsSchema(PageArgsSchema):
    user_id = fields.UUID()
    user_email = Text(254, metadata={"description": "the acting user's e-mail, exactly"})
    action = Text(50)
    resource_type = Text(50)
    resource_id = Text(64)
    since = fields.AwareDateTime(metadata={"description": "inclusive, ISO 8601 with offset"})
    until = fields.AwareDateTime(metadata={"description": "exclusive, ISO 8601 with offset"})
