"""User schemas: what a user looks like, and what may be sent to create or change one."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from services.api.resources.common import Pattern, Text
from services.core.domain.einvoice_buyer import InvoiceKind
from services.core.domain.tax_ids import is_valid_tax_id
from services.core.errors import FieldProblem

USERNAME = Pattern(r"^[\w.@+-]+$", code="username_invalid",
                   error="Letters, digits and @/./+/-/_ only.")
TAX_ID = Pattern(r"^(\d{8})?$", code="tax_id_invalid", error="Eight digits (統一編號) or empty.")


def tax_id_rules(value: str) -> None:
    """Eight digits (or empty), passing the Ministry of Finance checksum: digits that fail it
    are a typo, refused here rather than when the first company e-invoice is issued."""
    TAX_ID(value)
    if value and not is_valid_tax_id(value):
        raise ValidationError(FieldProblem(
            "tax_id_checksum", "Not a valid tax ID (統一編號): check the digits."))

LANGUAGES = validate.OneOf(["zh-TW", "en"])
AVATAR_HOST = Pattern(r"^https://[A-Za-z0-9.-]+\.[A-Za-z]{2,63}(:\d{1,5})?(/\S*)?$",
                      code="avatar_url_invalid", error="An https URL on a public host name.")
INVOICE_KINDS = validate.OneOf([kind.value for kind in InvoiceKind])
INVOICE_KIND_DOC = (
    "How the e-invoice (電子發票) is delivered: `cloud` (ECPay member carrier, to the e-mail),"
    " `mobile_barcode` (手機條碼 in invoice_carrier_num), `certificate` (自然人憑證),"
    " `donation` (捐贈碼 in invoice_love_code) or `company` (tax_id + company_name; printed"
    " with invoice_address when invoice_print)."
)


class UserSchema(Schema):
    id = fields.UUID(required=True)
    username = fields.String(required=True)
    email = fields.String(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    phone = fields.String(required=True)
    company_name = fields.String(required=True)
    tax_id = fields.String(required=True)
    invoice_kind = fields.String(required=True, metadata={"description": INVOICE_KIND_DOC})
    invoice_carrier_num = fields.String(required=True)
    invoice_love_code = fields.String(required=True)
    invoice_address = fields.String(required=True)
    invoice_print = fields.Boolean(required=True)
    language = fields.String(required=True)
    is_active = fields.Boolean(required=True)
    is_staff = fields.Boolean(required=True)
    is_superuser = fields.Boolean(required=True)
    is_verified = fields.Boolean(required=True)
    external_id = fields.String(allow_none=True, required=True, metadata={
        "description": "the SaaS's own id for this customer (unique), or null"})
    avatar = fields.String(allow_none=True, required=True, metadata={
        "description": "the user's picture: an https URL, or null"})
    # The seed's name for created_at (a second field on one attribute is refused: a Function).
    date_joined = fields.Function(lambda user: user.created_at.isoformat(), required=True,
                                  metadata={"type": "string", "format": "date-time",
                                            "description": "when the account was created"
                                                           " (the same as created_at)"})
    last_login = fields.AwareDateTime(allow_none=True, required=True)
    created_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(required=True)


def username_field(**kwargs: Any) -> fields.String:
    return Text(150, min_length=3, validate=USERNAME, **kwargs)


def email_field(**kwargs: Any) -> fields.Email:
    return fields.Email(validate=validate.Length(max=254), **kwargs)


class ProfileSchema(Schema):
    first_name = Text(150)
    last_name = Text(150)
    phone = Text(20, validate=Pattern(r"^[0-9+() -]*$", code="phone_invalid",
                                      error="Digits, +, (, ), -."))
    company_name = Text(200)
    tax_id = Text(8, validate=tax_id_rules)
    invoice_kind = Text(16, validate=INVOICE_KINDS, metadata={"description": INVOICE_KIND_DOC})
    invoice_carrier_num = Text(64)
    invoice_love_code = Text(7)
    invoice_address = Text(200)
    invoice_print = fields.Boolean()
    language = Text(8, validate=LANGUAGES)
    # Loaded by the browsers of whoever views the profile, staff included: a public https host
    # by name only (no localhost, IP literal or user:password@ pointing into a network).
    avatar = fields.Url(schemes={"https"}, require_tld=True, allow_none=True,
                        validate=[validate.Length(max=500), AVATAR_HOST],
                        metadata={"description": "an https URL of your picture; null removes it"})


class FlagsSchema(Schema):
    is_active = fields.Boolean()
    is_staff = fields.Boolean()
    is_superuser = fields.Boolean()
    is_verified = fields.Boolean()


class UserCreateSchema(ProfileSchema, FlagsSchema):
    username = username_field(required=True)
    email = email_field(required=True)
    password = Text(128, min_length=1, required=True, load_only=True)


class UserUpdateSchema(ProfileSchema, FlagsSchema):
    """PUT needs username and e-mail; PATCH sends any subset."""

    username = username_field(required=True)
    email = email_field(required=True)
    current_password = Text(128, load_only=True, metadata={
        "description": "Your password; required when the e-mail address changes."})


class UserListArgsSchema(Schema):
    is_active = fields.Boolean()
    search = Text(100)
    q = Text(100, metadata={"description": "customer search (staff): e-mail, username, name, "
                                           "company, 統編 or order number starting with this"})


class ChangePasswordSchema(Schema):
    old_password = Text(128, min_length=1, required=True)
    new_password = Text(128, min_length=1, required=True)


class UserPatchSchema(UserUpdateSchema):
    """PATCH: any subset of the PUT fields (load it with partial=True), and external_id."""

    external_id = Text(255, min_length=1, allow_none=True, metadata={
        "description": "link the customer to the SaaS's own id (null unlinks); staff or an"
                       " API key with billing:write only; 409 if another customer has it"})
