"""Pieces every resource shares: error and page schemas, bounded fields, auth decorators,
the acting user for audit rows, and the injected clock."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate

from services.core.clock import Clock
from services.core.db.models import User
from services.core.errors import FieldProblem
from services.core.usecases.api_pages import MAX_PAGE_SIZE, Page
from services.core.usecases.audit import Actor
from services.web.api_keys import current_key, key_actor, presented_key, require_key
from services.web.auth import FlaskTokenSigner, require_staff, require_user
from services.web.requests import client_ip, user_agent

F = TypeVar("F", bound=Callable[..., Any])
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]


class ErrorSchema(Schema):
    """The error envelope of every failure."""

    code = fields.String(required=True, metadata={"example": "validation_error"})
    status = fields.Integer(required=True, metadata={"example": 422})
    message = fields.String(required=True)
    errors = fields.Dict(required=True, metadata={"description": "field -> problems"})
    error_codes = fields.Dict(required=True, metadata={
        "description": "`errors` in the same shape, each English message replaced by a stable"
                       " code to branch on or translate (password_too_common, password_wrong,"
                       " email_invalid, too_short, too_long, required, invalid_choice,"
                       " not_a_number …; `invalid` when no code fits). See docs/error-codes.md.",
        "example": {"password": ["password_too_common"]}})


def _no_nul(value: str) -> None:
    if "\x00" in value:
        raise ValidationError(FieldProblem("nul_character", "NUL characters are not allowed."))


class Pattern(validate.Regexp):
    """A regular expression whose refusal carries a stable code (``error_codes``), so clients
    can say it in their own language; marshmallow would otherwise keep only the text."""

    def __init__(self, regex: str, *, code: str, error: str) -> None:
        super().__init__(regex, error=error)
        self.code = code

    def _format_error(self, value: str | bytes) -> str:
        return FieldProblem(self.code, super()._format_error(value))


def Text(max_length: int, *, min_length: int = 0, **kwargs: Any) -> fields.String:
    """A string with a length bound (no unbounded input reaches the database)."""
    validators: list[Callable[[Any], Any]] = [
        validate.Length(min=min_length, max=max_length), _no_nul]
    extra = kwargs.pop("validate", None)
    if extra is not None:
        validators.append(extra)
    return fields.String(validate=validators, **kwargs)


def Money(**kwargs: Any) -> fields.String:
    """Whole-dollar TWD amounts as decimal strings ("990"), never floats."""
    return fields.String(metadata={"format": "decimal", "example": "990",
                                   **kwargs.pop("metadata", {})}, **kwargs)


class PageArgsSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))


def page_schema(item: type[Schema], name: str) -> type[Schema]:
    """A page of `item`: results plus the total count and the page coordinates."""
    return cast(type[Schema], Schema.from_dict({
        "results": fields.List(fields.Nested(item), required=True),
        "total": fields.Integer(required=True),
        "page": fields.Integer(required=True),
        "page_size": fields.Integer(required=True),
        "pages": fields.Integer(required=True),
    }, name=name))


def page_body(page: Page[Any]) -> dict[str, Any]:
    return {"results": page.items, "total": page.total, "page": page.page,
            "page_size": page.page_size, "pages": page.pages}


class MessageSchema(Schema):
    detail = fields.String(required=True)


def document_errors(blp: Blueprint, *statuses: int) -> Callable[[F], F]:
    """Document error answers (all rendered as ErrorSchema)."""
    names = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
             409: "CONFLICT", 413: "REQUEST_ENTITY_TOO_LARGE", 422: "UNPROCESSABLE_ENTITY",
             429: "TOO_MANY_REQUESTS", 503: "SERVICE_UNAVAILABLE"}

    def decorate(func: F) -> F:
        for status in (*statuses, 429, 503):
            func = blp.alt_response(status, response=names[status])(func)
        return func

    return decorate


def authenticated(blp: Blueprint, *, staff: bool = False,
                  scope: str | None = None) -> Callable[[F], F]:
    """Require a valid access token (and staff when asked) before anything else runs, and
    say so in the OpenAPI document. Put it above the other decorators.

    `scope` lets API keys holding it call the route too (with staff visibility, see
    services.web.api_keys); without one, a key is refused 403."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if presented_key() is not None:
                require_key(scope)
            elif staff:
                require_staff()
            else:
                require_user()
            return func(*args, **kwargs)

        doc: dict[str, Any] = {"security": BEARER}
        if scope is not None:
            doc["x-api-key-scope"] = scope
        decorated = blp.doc(**doc)(wrapper)
        decorated = document_errors(
            blp, *((401, 403) if staff or scope else (401,)))(decorated)
        return cast(F, decorated)

    return decorate


def actor(user: User | None = None) -> Actor:
    """Who is acting, from where — for audit rows (an API key's own id when one acts)."""
    key = current_key()
    if key is not None:
        return key_actor(key)
    return Actor(user_id=user.id if user else None, ip_address=client_ip(),
                 user_agent=user_agent(), is_staff=bool(user and user.is_staff))


def clock() -> Clock:
    result: Clock = current_app.extensions["fluxus_clock"]
    return result


def signer() -> FlaskTokenSigner:
    return FlaskTokenSigner()
