"""API key schemas: what staff send to create one, and what a key looks like (no secret)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.api.resources.common import Text
from services.core.usecases.integrations.api_keys import SCOPES

SCOPES_DOC = (
    "billing:read (customers, subscriptions, orders, invoices, entitlements, MRR report),"
    " billing:write (a customer's external_id), webhooks:admin (webhook endpoints)"
)


class ApiKeyCreateSchema(Schema):
    name = Text(100, min_length=1, required=True)
    # Unknown scopes are refused by the use case with the scopes listed (422).
    scopes = fields.List(Text(32), required=True, validate=validate.Length(min=1, max=10),
                         metadata={"description": SCOPES_DOC, "example": list(SCOPES[:1])})


class ApiKeySchema(Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    prefix = fields.String(required=True, metadata={
        "description": "the key's first characters, to tell keys apart"})
    scopes = fields.List(fields.String(), required=True)
    created_at = fields.AwareDateTime(required=True)
    last_used_at = fields.AwareDateTime(allow_none=True, required=True, metadata={
        "description": "to the minute; every use is also in the audit log (api_key.used)"})
    revoked_at = fields.AwareDateTime(allow_none=True, required=True)


class ApiKeyWithSecretSchema(ApiKeySchema):
    key = fields.String(required=True, metadata={
        "description": "fx_live_… (fx_test_… outside production), shown only in this answer"})


class ApiKeyListArgsSchema(Schema):
    include_revoked = fields.Boolean(load_default=True)
