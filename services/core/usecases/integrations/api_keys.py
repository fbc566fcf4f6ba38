"""API keys for servers: staff create (shown once), list and revoke them; the API
authenticates a presented key and records its use."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import ApiKey
from services.core.errors import NotFound, ValidationError
from services.core.usecases import audit
from services.core.usecases.api_pages import Page, paginate
from services.core.usecases.audit import Actor

BILLING_READ = "billing:read"
BILLING_WRITE = "billing:write"
WEBHOOKS_ADMIN = "webhooks:admin"
SCOPES = (BILLING_READ, BILLING_WRITE, WEBHOOKS_ADMIN)
KEY_PREFIX = "fx_"
VISIBLE_RANDOM = 8  # characters of the random part kept in `prefix` for telling keys apart
# A hot key would otherwise rewrite its row on every request; each use still gets its own
# audit row, so last_used_at only needs to be right to the minute.
LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class Created:
    """A new key and its secret, which is shown this once."""

    key: ApiKey
    secret: str


def looks_like_key(token: str) -> bool:
    return token.startswith(KEY_PREFIX)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _scopes(scopes: list[str]) -> list[str]:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValidationError(
            f"unknown scopes: {', '.join(unknown)}" if unknown else "name at least one scope",
            errors={"scopes": [f"each one of {', '.join(SCOPES)}"]})
    return sorted(set(scopes))


def create(session: Session, clock: Clock, actor: Actor, *, name: str, scopes: list[str],
           live: bool) -> Created:
    """A key `fx_live_…` (production) or `fx_test_…` with 256 random bits; only its SHA-256
    is stored."""
    secret = f"{KEY_PREFIX}{'live' if live else 'test'}_{secrets.token_urlsafe(32)}"
    key = ApiKey(name=name, scopes=_scopes(scopes), key_hash=digest(secret),
                 prefix=secret[:len(KEY_PREFIX) + 5 + VISIBLE_RANDOM],
                 created_by=actor.user_id, created_at=clock.now())
    session.add(key)
    session.flush()
    audit.record(session, actor, "api_key.created", resource_type="api_key",
                 resource_id=key.id, meta={"name": name, "scopes": key.scopes,
                                           "prefix": key.prefix})
    return Created(key, secret)


def list_keys(session: Session, *, page: int, page_size: int,
              include_revoked: bool = True) -> Page[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return paginate(session, query, page=page, page_size=page_size)


def revoke(session: Session, clock: Clock, actor: Actor, key_id: uuid.UUID) -> ApiKey:
    """Revoke a key for good (again is a no-op); the next request with it is 401."""
    key = session.get(ApiKey, key_id, with_for_update=True)
    if key is None:
        raise NotFound("No such API key.")
    if key.revoked_at is None:
        key.revoked_at, key.revoked_by = clock.now(), actor.user_id
        audit.record(session, actor, "api_key.revoked", resource_type="api_key",
                     resource_id=key.id, meta={"prefix": key.prefix})
    return key


def find(session: Session, secret: str) -> ApiKey | None:
    """The key with this secret, revoked or not (one indexed equality on the digest)."""
    if not looks_like_key(secret):
        return None
    return session.scalars(select(ApiKey).where(ApiKey.key_hash == digest(secret))).first()


def record_use(session: Session, clock: Clock, actor: Actor, key: ApiKey, *, method: str,
               endpoint: str, allowed: bool) -> None:
    """One audit row per request made with a key (refused ones too), and last_used_at moved
    on at most once a minute. The caller commits this on its own, before the request runs,
    so a request that fails or is rolled back is still on record."""
    now = clock.now()
    audit.record(session, actor, "api_key.used" if allowed else "api_key.refused",
                 resource_type="api_key", resource_id=key.id,
                 meta={"method": method, "endpoint": endpoint, "prefix": key.prefix})
    if allowed:
        session.execute(
            update(ApiKey).where(ApiKey.id == key.id, or_(
                ApiKey.last_used_at.is_(None),
                ApiKey.last_used_at < now - LAST_USED_RESOLUTION))
            .values(last_used_at=now))


def usable(key: ApiKey | None) -> bool:
    return key is not None and key.revoked_at is None
