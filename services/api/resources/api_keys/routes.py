"""API keys (staff): create one (its secret shown once), list them, revoke one."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from services.api.resources.api_keys.schemas import (
    ApiKeyCreateSchema,
    ApiKeyListArgsSchema,
    ApiKeySchema,
    ApiKeyWithSecretSchema,
)
from services.api.resources.common import (
    PageArgsSchema,
    actor,
    authenticated,
    clock,
    document_errors,
    page_body,
    page_schema,
)
from services.core.usecases.integrations import api_keys
from services.web.auth import current_user
from services.web.uow import app_settings, db_session

blp = Blueprint("api_keys", __name__, url_prefix="/api/api-keys", description="API keys")
ApiKeyPageSchema = page_schema(ApiKeySchema, "ApiKeyPage")


class ApiKeyListQuerySchema(PageArgsSchema, ApiKeyListArgsSchema):
    pass


@blp.route("/")
class ApiKeys(MethodView):
    @authenticated(blp, staff=True)
    @document_errors(blp, 422)
    @blp.arguments(ApiKeyListQuerySchema(), location="query")
    @blp.response(200, ApiKeyPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Every API key, oldest first, with when it was last used (staff); never a secret."""
        return page_body(api_keys.list_keys(db_session(), **args))

    @authenticated(blp, staff=True)
    @document_errors(blp, 422)
    @blp.arguments(ApiKeyCreateSchema())
    @blp.response(201, ApiKeyWithSecretSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a key for a server (staff); the answer shows the key once.

        Send it as `Authorization: Bearer fx_…`. A key is not staff: it may call only the
        routes whose scope it holds (`x-api-key-scope` in this document).
        """
        made = api_keys.create(db_session(), clock(), actor(current_user()), name=data["name"],
                               scopes=data["scopes"], live=app_settings().is_production)
        shown = {name: getattr(made.key, name) for name in ApiKeySchema().fields}
        return {**shown, "key": made.secret}, 201


@blp.route("/<uuid:key_id>/")
class ApiKeyDetail(MethodView):
    @authenticated(blp, staff=True)
    @document_errors(blp, 404)
    @blp.response(200, ApiKeySchema)
    def delete(self, key_id: uuid.UUID) -> Any:
        """Revoke a key (staff): every later request with it is 401. Revoking twice is fine."""
        return api_keys.revoke(db_session(), clock(), actor(current_user()), key_id)
