"""Use cases for tokens: refresh-token families, rotation with reuse detection, revocation,
and pruning what has expired."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn, Protocol

from sqlalchemy import Select, bindparam, delete, exists, select, update
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import RefreshToken, RevokedAccessToken, User, UserToken
from services.core.db.upsert import insert_for
from services.core.errors import AuthenticationError
from services.core.usecases import audit
from services.core.usecases.audit import Actor


class TokenSigner(Protocol):
    """Signs and reads JWTs (the web edge implements it with flask-jwt-extended)."""

    def access(self, user: User, *, jti: str, family_id: str) -> str: ...

    def refresh(self, user: User, *, jti: str, family_id: str) -> str: ...

    def read_refresh(self, token: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str


def _new_id() -> str:
    return uuid.uuid4().hex


def issue_tokens(
    session: Session, clock: Clock, signer: TokenSigner, user: User, *,
    refresh_days: int, family_id: str | None = None,
) -> TokenPair:
    """A new access + refresh token; the refresh token joins `family_id` (or a new family)."""
    family = family_id or _new_id()
    refresh_jti = _new_id()
    session.add(RefreshToken(
        jti=refresh_jti, family_id=family, user_id=user.id,
        expires_at=clock.now() + timedelta(days=refresh_days),
    ))
    session.flush()
    return TokenPair(
        access=signer.access(user, jti=_new_id(), family_id=family),
        refresh=signer.refresh(user, jti=refresh_jti, family_id=family),
    )


def revoke_family(session: Session, clock: Clock, family_id: str) -> int:
    result = session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def revoke_user_tokens(session: Session, clock: Clock, user_id: uuid.UUID) -> int:
    """Revoke every refresh token of a user (and so every access token of those families)."""
    result = session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def rotate_refresh_token(
    session: Session, clock: Clock, signer: TokenSigner, actor: Actor, token: str, *,
    refresh_days: int,
) -> TokenPair:
    """Trade a refresh token for a new pair. The old one is spent; presenting a spent one
    again revokes its whole family (the caller must keep that write: it raises)."""
    payload = signer.read_refresh(token)
    jti = str(payload.get("jti", ""))
    now = clock.now()
    # Spend it atomically: of two concurrent rotations exactly one wins, the other is reuse.
    spent = session.execute(
        update(RefreshToken)
        .where(RefreshToken.jti == jti, RefreshToken.used_at.is_(None),
               RefreshToken.revoked_at.is_(None), RefreshToken.expires_at > now)
        .values(used_at=now)
        .returning(RefreshToken.user_id, RefreshToken.family_id)
    ).one_or_none()
    if spent is None:
        _refuse_refresh(session, clock, actor, jti)
    user_id, family_id = spent
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise AuthenticationError("The account is inactive.", code="invalid_token")
    return issue_tokens(session, clock, signer, user, refresh_days=refresh_days,
                        family_id=family_id)


def _refuse_refresh(session: Session, clock: Clock, actor: Actor, jti: str) -> NoReturn:
    row = session.get(RefreshToken, jti)
    if row is None or row.revoked_at is not None or row.used_at is None:
        raise AuthenticationError("The refresh token is not valid.", code="invalid_token")
    revoked = revoke_family(session, clock, row.family_id)
    audit.record(
        session, actor, "refresh_token_reuse", user_id=row.user_id,
        resource_type="refresh_token_family", resource_id=row.family_id,
        description="A rotated-out refresh token was presented again; family revoked.",
        meta={"revoked_tokens": revoked},
    )
    raise AuthenticationError(
        "This refresh token was already used; every session of this login is revoked.",
        code="token_reused",
    )


def revoke_access_token(session: Session, jti: str, expires_at: datetime) -> None:
    insert = insert_for(session)
    session.execute(
        insert(RevokedAccessToken).values(jti=jti, expires_at=expires_at)
        .on_conflict_do_nothing(index_elements=[RevokedAccessToken.jti])
    )


def logout(
    session: Session, clock: Clock, signer: TokenSigner, actor: Actor, user: User, *,
    access_claims: dict[str, Any], refresh_token: str | None,
) -> None:
    """Revoke the access token used, its login family, and the given refresh token's family
    when that token is the caller's own."""
    revoke_access_token(
        session, str(access_claims["jti"]),
        datetime.fromtimestamp(int(access_claims.get("exp", 0)), UTC),
    )
    families = {str(access_claims["fam"])} if access_claims.get("fam") else set()
    if refresh_token:
        try:
            payload = signer.read_refresh(refresh_token)
        except AuthenticationError:
            payload = {}
        row = session.get(RefreshToken, str(payload.get("jti", "")))
        if row is not None and row.user_id == user.id:
            families.add(row.family_id)
    for family in families:
        revoke_family(session, clock, family)
    audit.record(session, actor, "logout", resource_type="user", resource_id=user.id,
                 description="Logged out; tokens revoked.")


@functools.cache
def _caller_statement(with_family: bool) -> Select[User, bool]:
    """The caller and whether the token is revoked by logout or with its login family (reuse,
    password change). Built once per shape, the values as bind parameters: building the
    clauses and their cache key again on each request was half of this read's Python, and
    SQLAlchemy keeps a statement's cache key on the statement."""
    revoked = exists().where(RevokedAccessToken.jti == bindparam("jti"))
    if with_family:
        revoked = revoked | exists().where(
            RefreshToken.family_id == bindparam("family_id"),
            RefreshToken.revoked_at.is_not(None),
        )  # type: ignore[assignment]
    return select(User, revoked).where(User.id == bindparam("user_id"))


def caller_and_revocation(
    session: Session, user_id: uuid.UUID, jti: str, family_id: str | None
) -> tuple[User | None, bool]:
    """The token's user and whether the token is revoked, in one round trip (every
    authenticated request asks both). No such user: (None, False) — refused either way."""
    params: dict[str, Any] = {"user_id": user_id, "jti": jti}
    if family_id:
        params["family_id"] = str(family_id)
    row = session.execute(_caller_statement(bool(family_id)), params).one_or_none()
    return (row[0], bool(row[1])) if row is not None else (None, False)


# Kept a day past expiry: a JWT's own expiry check allows no skew, but a clock that is a few
# minutes behind must not make a revoked token acceptable again.
PRUNE_MARGIN = timedelta(days=1)


def prune_expired_tokens(session: Session, clock: Clock) -> dict[str, int]:
    """Delete token rows that can no longer matter: a revoked access token past its expiry
    (the JWT is refused as expired anyway), and refresh and e-mailed tokens past theirs.

    A revoked login family stays detectable: access tokens never outlive the refresh token
    issued with them, so a family's newest (revoked) refresh row outlives every access token
    of that family.
    """
    cutoff = clock.now() - PRUNE_MARGIN
    pruned = {}
    for name, model in (
        ("revoked_access_tokens", RevokedAccessToken),
        ("refresh_tokens", RefreshToken),
        ("user_tokens", UserToken),
    ):
        result = session.execute(delete(model).where(model.expires_at < cutoff))
        pruned[name] = int(result.rowcount)  # type: ignore[attr-defined]
    return pruned
