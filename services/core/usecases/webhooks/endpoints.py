"""Webhook endpoints: staff register, change, rotate and remove them.

Staff, or an API key with the `webhooks:admin` scope (whose stand-in caller has staff
visibility; `may_admin` is the one place that decides)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, select, type_coerce
from sqlalchemy import delete as sa_delete
from sqlalchemy import update as sa_update
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.crypto import LegacyPlaintext
from services.core.db.models import User, WebhookDelivery, WebhookEndpoint
from services.core.errors import NotFound, PermissionDenied, ValidationError
from services.core.usecases import audit
from services.core.usecases.audit import Actor
from services.core.usecases.webhooks import signing, targets
from services.core.usecases.webhooks.events import ALL, EVENT_TYPES

ROTATION_OVERLAP = timedelta(hours=24)


@dataclass(frozen=True)
class WithSecret:
    """An endpoint and its secret, which is shown this once."""

    endpoint: WebhookEndpoint
    secret: str


def may_admin(caller: User) -> None:
    # An API key with webhooks:admin passes too: the route accepted it for that scope.
    if not caller.is_staff:
        raise PermissionDenied("Only staff manage webhook endpoints.")


def _event_types(types: list[str]) -> list[str]:
    unknown = sorted(set(types) - set(EVENT_TYPES) - {ALL})
    if unknown or not types:
        raise ValidationError(
            "unknown event types" if unknown else "name at least one event type",
            errors={"event_types": [f"one of {', '.join(EVENT_TYPES)} or '*'"]},
        )
    return sorted(set(types))


def _check_url(url: str, allow_private: bool) -> str:
    targets.resolve(url, allow_private=allow_private)
    return url


def get(session: Session, caller: User, endpoint_id: uuid.UUID,
        for_update: bool = False) -> WebhookEndpoint:
    may_admin(caller)
    endpoint = session.get(WebhookEndpoint, endpoint_id, with_for_update=for_update)
    if endpoint is None:
        raise NotFound("No such webhook endpoint.")
    return endpoint


def list_all(session: Session, caller: User) -> list[WebhookEndpoint]:
    may_admin(caller)
    return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.created_at)))


def create(session: Session, clock: Clock, actor: Actor, caller: User, *, url: str,
           event_types: list[str], description: str = "", allow_private: bool) -> WithSecret:
    may_admin(caller)
    endpoint = WebhookEndpoint(
        url=_check_url(url, allow_private), event_types=_event_types(event_types),
        description=description, secret=signing.new_secret(), created_by=caller.id,
        created_at=clock.now(),
    )
    session.add(endpoint)
    session.flush()
    audit.record(session, actor, "webhook_endpoint.created", resource_type="webhook_endpoint",
                 resource_id=endpoint.id, meta={"url": url, "event_types": endpoint.event_types})
    return WithSecret(endpoint, endpoint.secret)


def update(session: Session, clock: Clock, actor: Actor, caller: User,
           endpoint_id: uuid.UUID, changes: dict[str, Any], *, allow_private: bool
           ) -> WebhookEndpoint:
    """Change the URL, event types or description; `enabled: true` re-enables a disabled one."""
    endpoint = get(session, caller, endpoint_id, for_update=True)
    if "url" in changes:
        endpoint.url = _check_url(changes["url"], allow_private)
    if "event_types" in changes:
        endpoint.event_types = _event_types(changes["event_types"])
    if "description" in changes:
        endpoint.description = changes["description"]
    if changes.get("enabled") is True:
        endpoint.disabled_at, endpoint.disabled_reason = None, ""
    elif changes.get("enabled") is False and endpoint.disabled_at is None:
        endpoint.disabled_at, endpoint.disabled_reason = clock.now(), "disabled by staff"
    audit.record(session, actor, "webhook_endpoint.updated", resource_type="webhook_endpoint",
                 resource_id=endpoint.id, meta={k: v for k, v in changes.items()})
    return endpoint


def delete(session: Session, actor: Actor, caller: User, endpoint_id: uuid.UUID) -> None:
    endpoint = get(session, caller, endpoint_id, for_update=True)
    session.execute(sa_delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    session.delete(endpoint)
    audit.record(session, actor, "webhook_endpoint.deleted", resource_type="webhook_endpoint",
                 resource_id=endpoint_id, meta={"url": endpoint.url})


def rotate_secret(session: Session, clock: Clock, actor: Actor, caller: User,
                  endpoint_id: uuid.UUID) -> WithSecret:
    """A new secret; deliveries carry a signature with the old one too for 24 hours."""
    endpoint = get(session, caller, endpoint_id, for_update=True)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = clock.now() + ROTATION_OVERLAP
    endpoint.secret = signing.new_secret()
    audit.record(session, actor, "webhook_endpoint.secret_rotated",
                 resource_type="webhook_endpoint", resource_id=endpoint.id)
    return WithSecret(endpoint, endpoint.secret)


def seal_legacy_secrets(session: Session, endpoint: WebhookEndpoint) -> None:
    """Secrets stored plain before 0007 (read as LegacyPlaintext) are written back sealed on
    first use. A compare-and-set on the stored text: a rotation that got there first wins."""
    table = WebhookEndpoint.__table__
    for name in ("secret", "previous_secret"):
        value = getattr(endpoint, name)
        if isinstance(value, LegacyPlaintext):
            stored = type_coerce(table.c[name], String())  # the raw text, not re-sealed
            session.execute(sa_update(table).where(table.c.id == endpoint.id,
                                                stored == str(value))
                            .values({name: str(value)}))


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    found = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at \
            and endpoint.previous_secret_expires_at > now:
        found.append(endpoint.previous_secret)
    return found
