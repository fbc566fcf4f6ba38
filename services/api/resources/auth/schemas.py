"""Request and response bodies of the account endpoints."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validates_schema

from services.api.resources.common import Text
from services.api.resources.users.schemas import (
    ProfileSchema,
    UserSchema,
    email_field,
    username_field,
)
from services.core.errors import FieldProblem
from services.core.usecases.auth_passwords import password_problems

TOKEN_MAX = 4096


class RegisterSchema(ProfileSchema):
    class Meta:
        # Invoice details are set on the account (or at checkout) once the customer has one.
        exclude = ("invoice_kind", "invoice_carrier_num", "invoice_love_code",
                   "invoice_address", "invoice_print")

    username = username_field(required=True)
    email = email_field(required=True)
    password = Text(128, min_length=1, required=True, load_only=True)
    password_confirm = Text(128, load_only=True)

    # Run beside the field errors, not after them: a form shows every problem in one answer.
    @validates_schema(skip_on_field_errors=False)
    def passwords_match(self, data: dict[str, object], **_kwargs: object) -> None:
        password = data.get("password")
        if not isinstance(password, str):
            return  # missing or refused as a field already
        problems: dict[str, list[str]] = {}
        weak = password_problems(password, username=str(data.get("username") or ""),
                                 email=str(data.get("email") or ""))
        if weak:
            problems["password"] = weak
        problems |= _mismatch(data, password)
        if problems:
            raise ValidationError(problems)


def _mismatch(data: dict[str, object], password: str) -> dict[str, list[str]]:
    confirm = data.get("password_confirm")
    if confirm is None or confirm == password:
        return {}
    return {"password_confirm": [FieldProblem("password_mismatch", "The passwords differ.")]}


class LoginSchema(Schema):
    username = Text(254, metadata={"description": "username or e-mail address"})
    email = Text(254, metadata={"description": "alternative to username"})
    password = Text(128, min_length=1, required=True, load_only=True)

    @validates_schema
    def one_login(self, data: dict[str, object], **_kwargs: object) -> None:
        if not data.get("username") and not data.get("email"):
            raise ValidationError(
                FieldProblem("required", "Send a username or an e-mail address."), "username")


class TokenPairSchema(Schema):
    access = fields.String(required=True)
    refresh = fields.String(required=True)


class LoginResponseSchema(TokenPairSchema):
    user = fields.Nested(UserSchema, required=True)


class RefreshSchema(Schema):
    refresh = Text(TOKEN_MAX, min_length=1, required=True)


class LogoutSchema(Schema):
    refresh = Text(TOKEN_MAX)


class TokenSchema(Schema):
    token = Text(200, min_length=1, required=True)


class EmailSchema(Schema):
    email = email_field(required=True)


class PasswordResetConfirmSchema(Schema):
    token = Text(200, min_length=1, required=True)
    password = Text(128, min_length=1, required=True, load_only=True)
    password_confirm = Text(128, load_only=True)

    @validates_schema(skip_on_field_errors=False)
    def passwords_match(self, data: dict[str, object], **_kwargs: object) -> None:
        """The rules that need no account and the confirmation in one answer; the use case
        checks similarity to the account's names once the token names it."""
        password = data.get("password")
        if not isinstance(password, str):
            return
        problems = _mismatch(data, password)
        weak = password_problems(password)
        if weak:
            problems["password"] = weak
        if problems:
            raise ValidationError(problems)
