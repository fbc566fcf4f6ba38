"""JWT for Flask apps: HS256 tokens, revocation checks, the envelope for JWT errors, and who
is calling (``current_user``, ``require_user``, ``require_staff``)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from flask import Flask, Response, g, has_request_context, request
from flask_jwt_extended import (
    JWTManager,
    create_access_token,
    create_refresh_token,
    decode_token,
    get_current_user,
    verify_jwt_in_request,
)
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt.exceptions import PyJWTError

from services.core.config import Settings
from services.core.db.models import User
from services.core.errors import AuthenticationError, PermissionDenied
from services.core.usecases.auth_tokens import caller_and_revocation
from services.web.envelope import error_response
from services.web.uow import db_session


def _unauthorized(message: str, code: str = "unauthorized") -> Response:
    return error_response(401, code, message, headers={"WWW-Authenticate": "Bearer"})


def _install_error_callbacks(manager: JWTManager) -> None:
    manager.unauthorized_loader(lambda reason: _unauthorized(
        "Authentication is required: send 'Authorization: Bearer <access token>'."))
    manager.invalid_token_loader(lambda reason: _unauthorized(
        "The token is not valid.", "invalid_token"))
    manager.expired_token_loader(lambda header, payload: _unauthorized(
        "The token has expired.", "token_expired"))
    manager.revoked_token_loader(lambda header, payload: _unauthorized(
        "The token has been revoked.", "token_revoked"))
    manager.user_lookup_error_loader(lambda header, payload: _unauthorized(
        "The account of this token does not exist or is inactive.", "invalid_token"))
    manager.needs_fresh_token_loader(lambda header, payload: _unauthorized(
        "A fresh token is required.", "fresh_token_required"))
    manager.token_verification_failed_loader(lambda header, payload: error_response(
        403, "forbidden", "The token's claims do not allow this."))


def _subject(payload: dict[str, Any]) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(payload["sub"]))
    except (KeyError, ValueError):
        return None


def _load_user(_header: dict[str, Any], payload: dict[str, Any]) -> User | None:
    # flask-jwt-extended asks _revoked first; it fetched the user in the same query.
    user = g.pop("fluxus_token_user", None)
    if user is None or user.id != _subject(payload):
        user_id = _subject(payload)
        user = db_session().get(User, user_id) if user_id is not None else None
    return user if user is not None and user.is_active else None


def _revoked(_header: dict[str, Any], payload: dict[str, Any]) -> bool:
    if payload.get("type") != "access":
        return False
    user_id = _subject(payload)
    if user_id is None:
        return False  # refused by _load_user: no such user
    user, revoked = caller_and_revocation(
        db_session(), user_id, str(payload.get("jti", "")), payload.get("fam")
    )
    g.fluxus_token_user = user
    return revoked


_DECODED = "_fluxus_decoded_tokens"


class _OnceAJWTManager(JWTManager):
    """Verifies each token once per request: the rate limiter reads the token's subject
    before the route authenticates, and both would otherwise check the same signature.

    Only a token that passed (signature, expiry, claims) is remembered, and only for the
    request (on `g`, keyed by the exact token and options), so a bad, expired or refused token
    is decoded and refused each time exactly as before; revocation and the user are still
    checked by the route on every request."""

    def _decode_jwt_from_config(self, encoded_token: str, csrf_value: Any = None,
                                allow_expired: bool = False) -> dict[str, Any]:
        if not has_request_context():
            return super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        decoded: dict[tuple[str, Any, bool], dict[str, Any]] | None = g.get(_DECODED)
        if decoded is None:
            decoded = {}
            setattr(g, _DECODED, decoded)
        key = (encoded_token, csrf_value, allow_expired)
        payload = decoded.get(key)
        if payload is None:
            payload = super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
            decoded[key] = payload
        return dict(payload)  # a copy: a caller that edits its claims edits only its own


def init_jwt(app: Flask, settings: Settings) -> JWTManager:
    """HS256 with settings.jwt_secret; lifetimes from settings; tokens in the Authorization
    header only; revoked access tokens (and revoked families) refused."""
    app.config.update(
        JWT_SECRET_KEY=settings.jwt_secret,
        JWT_ALGORITHM="HS256",
        JWT_DECODE_ALGORITHMS=["HS256"],
        JWT_ACCESS_TOKEN_EXPIRES=timedelta(minutes=settings.jwt_access_minutes),
        JWT_REFRESH_TOKEN_EXPIRES=timedelta(days=settings.jwt_refresh_days),
        JWT_TOKEN_LOCATION=["headers"],
        JWT_ERROR_MESSAGE_KEY="message",
    )
    manager = _OnceAJWTManager(app)
    _install_error_callbacks(manager)
    manager.user_lookup_loader(_load_user)
    manager.token_in_blocklist_loader(_revoked)
    return manager


def current_user() -> User:
    """The authenticated user; call after ``require_user`` or ``@jwt_required()``. On a route
    that accepted an API key, the key's stand-in (see services.web.api_keys)."""
    stand_in: User | None = g.get("fluxus_key_caller")
    if stand_in is not None:
        return stand_in
    user: User = get_current_user()
    return user


def require_user() -> User:
    """Check the bearer access token (signature, expiry, revocation, active user)."""
    verify_jwt_in_request()
    return current_user()


def optional_user() -> User | None:
    """The caller if a valid access token is sent; None for anonymous calls."""
    verify_jwt_in_request(optional=True)
    user: User | None = get_current_user()
    return user


def require_staff() -> User:
    """The caller, who must be staff (403 otherwise)."""
    user = require_user()
    if not user.is_staff:
        raise PermissionDenied("Staff only.")
    return user


def token_subject() -> str | None:
    """The user id in a well-signed, unexpired access token, without touching the database
    (rate-limit keys are computed before authentication runs)."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    try:
        payload = decode_token(header.removeprefix("Bearer ").strip())
    except (PyJWTError, JWTExtendedException):
        return None
    if payload.get("type") != "access":
        return None
    return str(payload.get("sub"))


class FlaskTokenSigner:
    """The TokenSigner port of the auth use cases, signing with flask-jwt-extended."""

    def access(self, user: User, *, jti: str, family_id: str) -> str:
        return create_access_token(
            identity=str(user.id), additional_claims={"jti": jti, "fam": family_id,
                                                      "staff": bool(user.is_staff)})

    def refresh(self, user: User, *, jti: str, family_id: str) -> str:
        return create_refresh_token(
            identity=str(user.id), additional_claims={"jti": jti, "fam": family_id})

    def read_refresh(self, token: str) -> dict[str, Any]:
        try:
            payload = decode_token(token)
        except (PyJWTError, JWTExtendedException) as exc:
            raise AuthenticationError("The refresh token is not valid.",
                                      code="invalid_token") from exc
        if payload.get("type") != "refresh":
            raise AuthenticationError("This is not a refresh token.", code="invalid_token")
        return payload
