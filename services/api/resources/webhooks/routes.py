"""Webhook endpoints (staff): register, change, rotate the secret, read the delivery log,
resend one event or replay a time range; and the events of the last 30 days."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from services.api.resources.common import (
    actor,
    authenticated,
    clock,
    document_errors,
    page_body,
    page_schema,
)
from services.api.resources.webhooks.schemas import (
    DeliveryArgsSchema,
    DeliverySchema,
    EndpointCreateSchema,
    EndpointListSchema,
    EndpointSchema,
    EndpointUpdateSchema,
    EndpointWithSecretSchema,
    EventArgsSchema,
    EventSchema,
    ReplayedSchema,
    ReplaySchema,
    ResendSchema,
)
from services.core.usecases.integrations.api_keys import WEBHOOKS_ADMIN
from services.core.usecases.webhooks import endpoints, operations, queries
from services.web.auth import current_user
from services.web.uow import app_settings, db_session, jobs

blp = Blueprint("webhooks", __name__, url_prefix="/api", description="Outgoing webhooks")
DeliveryPageSchema = page_schema(DeliverySchema, "WebhookDeliveryPage")
EventPageSchema = page_schema(EventSchema, "WebhookEventPage")


def _allow_private() -> bool:
    return app_settings().webhooks_allow_private


@blp.route("/webhook-endpoints/")
class Endpoints(MethodView):
    @authenticated(blp, staff=True, scope=WEBHOOKS_ADMIN)
    @blp.response(200, EndpointListSchema)
    def get(self) -> Any:
        """Every webhook endpoint, oldest first (staff)."""
        return {"results": endpoints.list_all(db_session(), current_user())}

    @authenticated(blp, staff=True, scope=WEBHOOKS_ADMIN)
    @document_errors(blp, 422)
    @blp.arguments(EndpointCreateSchema())
    @blp.response(201, EndpointWithSecretSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Register an endpoint for some event types (staff); the answer shows its secret once.

        Deliveries follow Standard Webhooks 1.0: `webhook-id`, `webhook-timestamp` and
        `webhook-signature` (`v1,` HMAC-SHA256 with the secret). Private, loopback and
        link-local targets are refused (422 `webhook_target_refused`) unless the deployment
        sets `FLUXUS_WEBHOOKS_ALLOW_PRIVATE`.
        """
        user = current_user()
        made = endpoints.create(db_session(), clock(), actor(user), user, url=data["url"],
                                event_types=data["event_types"],
                                description=data["description"],
                                allow_private=_allow_private())
        return _with_secret(made), 201


def _with_secret(made: endpoints.WithSecret) -> Any:
    return made.endpoint  # its current secret is the one just made


@blp.route("/webhook-endpoints/<uuid:endpoint_id>/")
class Endpoint(MethodView):
    @authenticated(blp, staff=True, scope=WEBHOOKS_ADMIN)
    @document_errors(blp, 404)
    @blp.response(200, EndpointSchema)
    def get(self, endpoint_id: uuid.UUID) -> Any:
        """One endpoint (staff); its secret is never shown again."""
        return endpoints.get(db_session(), current_user(), endpoint_id)

    @authenticated(blp, staff=True, scope=WEBHOOKS_ADMIN)
    @document_errors(blp, 404, 422)
    @blp.arguments(EndpointUpdateSchema())
    @blp.response(200, EndpointSchema)
    def patch(self, data: dict[str, Any], endpoint_id: uuid.UUID) -> Any:
        """Change the URL, event types or description; `enabled` true re-enables (staff)."""
        user = current_user()
        return endpoints.update(db_session(), clock(), actor(user), user, endpoint_id, data,
                                allow_private=_allow_private())

    @authenticated(blp, staff=True, scope=WEBHOOKS_ADMIN)
    @document_errors(blp, 404)
    @blp.response(204)
    def delete(self, endpoint_id: uuid.UUID) -> Any:
        """Remove the endpoint and its delivery log (staff)."""
        user = current_user()
        endpoints.delete(db_session(), actor(user), user, endpoint_id)
        return None


@blp.route("/webhook-endpoints/<uuid:endpoint_id>/rotate-secret/")
class RotateSecret(MethodView):
    @authenticated(blp, staff=True, scope=WEBHOOKS_ADMIN)
    @document_errors(blp, 404)
    @blp.response(200, EndpointWithSecretSchema)
    def post(self, endpoint_id: uuid.UUID) -> Any:
        """A new secret, shown once; for 24 hours every delivery is signed with both (staff)."""
        user = current_user()
        made = endpoints.rotate_secret(db_session(), clock(), actor(user), user, endpoint_id)
        return _with_secret(made)


@blp.route("/webhook-endpoints/<uuid:endpoint_id>/deliveries/")
class Deliveries(MethodView):
    @authenticated(blp, staff=True, scope=WEBHOOKS_ADMIN)
    @document_errors(blp, 404, 422)
    @blp.arguments(DeliveryArgsSchema(), location="query")
    @blp.response(200, DeliveryPageSchema)
    def get(self, args: dict[str, Any], endpoint_id: uuid.UUID) -> Any:
        """The endpoint's delivery log, newest first: attempts, last HTTP status, error."""
        return page_body(operations.delivery_log(db_session(), current_user(), endpoint_id,
                                                 **args))


@blp.route("/webhook-endpoints/<uuid:endpoint_id>/resend/")
class Resend(MethodView):
    @authenticated(blp, staff=True, scope=WEBHOOKS_ADMIN)
    @document_errors(blp, 404, 422)
    @blp.arguments(ResendSchema())
    @blp.response(202, DeliverySchema)
    def post(self, data: dict[str, Any], endpoint_id: uuid.UUID) -> Any:
        """Send one event to this endpoint again, with the same `webhook-id` (staff)."""
        user = current_user()
        delivery = operations.resend(db_session(), clock(), jobs(), actor(user), user,
                                     endpoint_id, data["event_id"])
        return delivery, 202


@blp.route("/webhook-endpoints/<uuid:endpoint_id>/replay/")
class Replay(MethodView):
    @authenticated(blp, staff=True, scope=WEBHOOKS_ADMIN)
    @document_errors(blp, 404, 422)
    @blp.arguments(ReplaySchema())
    @blp.response(202, ReplayedSchema)
    def post(self, data: dict[str, Any], endpoint_id: uuid.UUID) -> Any:
        """Send again every event from `from` to `to` this endpoint subscribes to (or only
        those not yet delivered, `only_failed`), at most 1000 (staff)."""
        user = current_user()
        done = operations.replay(db_session(), clock(), jobs(), actor(user), user, endpoint_id,
                                 since=data["since"], until=data["until"],
                                 only_failed=data["only_failed"])
        return {"deliveries": done.deliveries}, 202


@blp.route("/webhook-events/")
class Events(MethodView):
    @authenticated(blp, staff=True, scope=WEBHOOKS_ADMIN)
    @document_errors(blp, 422)
    @blp.arguments(EventArgsSchema(), location="query")
    @blp.response(200, EventPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Events of the last 30 days, newest first; filter by type and time (staff)."""
        return page_body(queries.list_events(db_session(), current_user(), **args))
