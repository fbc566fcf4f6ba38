"""Customers' invoice preferences: kept on the account, overridable at checkout, validated
by the pure rules in services.core.domain.einvoice_buyer."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from services.core.db.models import Order, User
from services.core.domain.einvoice_buyer import (
    BuyerFields,
    InvoiceKind,
    InvoicePreference,
    normalize,
    validate,
)
from services.core.errors import ValidationError

# Preference field -> the column on users that keeps it (tax_id and company_name predate
# e-invoices and also print on the receipt).
USER_COLUMNS = {
    "kind": "invoice_kind",
    "carrier_num": "invoice_carrier_num",
    "love_code": "invoice_love_code",
    "tax_id": "tax_id",
    "company_name": "company_name",
    "address": "invoice_address",
    "company_print": "invoice_print",
}


def buyer_name(user: User, limit: int = 60) -> str:
    """The buyer as invoices name them: the company, else the full name, else the username
    (60 characters fit ECPay's CustomerName; the receipt keeps up to 200)."""
    full = f"{user.last_name}{user.first_name}".strip()
    return (user.company_name or full or user.username)[:limit]


def of_user(user: User) -> InvoicePreference:
    values = {field: getattr(user, column) for field, column in USER_COLUMNS.items()}
    return from_mapping(values)


def from_mapping(values: Mapping[str, Any]) -> InvoicePreference:
    """A preference from API/JSON field names (kind, carrier_num, …); unknown kinds refused."""
    try:
        kind = InvoiceKind(values.get("kind") or InvoiceKind.CLOUD.value)
    except ValueError:
        raise ValidationError("Unknown invoice type.", errors={
            "kind": [f"One of: {', '.join(k.value for k in InvoiceKind)}."]}) from None
    return InvoicePreference(
        kind=kind,
        carrier_num=str(values.get("carrier_num") or ""),
        love_code=str(values.get("love_code") or ""),
        tax_id=str(values.get("tax_id") or ""),
        company_name=str(values.get("company_name") or ""),
        address=str(values.get("address") or ""),
        company_print=bool(values.get("company_print") or False),
    )


def to_mapping(pref: InvoicePreference) -> dict[str, Any]:
    return {**dataclasses.asdict(pref), "kind": pref.kind.value}


def checked(pref: InvoicePreference, *, field_names: Mapping[str, str] | None = None
            ) -> InvoicePreference:
    """The normalized preference, or ValidationError naming each bad field."""
    pref = normalize(pref)
    problems = validate(pref)
    if problems:
        names = field_names or {}
        raise ValidationError("The invoice details are not valid.", errors={
            names.get(field, field): [message] for field, message in problems.items()})
    return pref


def apply_to_user(user: User, fields: dict[str, Any]) -> None:
    """Validate the preference an account update would leave, normalizing `fields` in place.

    Only runs when the update touches a preference column, so a profile edit by a customer
    with an older, now-invalid preference is not blocked by it."""
    touched = {f for f, column in USER_COLUMNS.items() if column in fields}
    if not touched:
        return
    merged = {f: fields.get(column, getattr(user, column)) for f, column in USER_COLUMNS.items()}
    pref = checked(from_mapping(merged), field_names=USER_COLUMNS)
    for field, value in to_mapping(pref).items():
        column = USER_COLUMNS[field]
        # 統編 and company name also belong to the profile: another invoice type leaves them.
        if column in fields and (value or column not in ("tax_id", "company_name")):
            fields[column] = value


def for_order(order: Order, user: User) -> InvoicePreference:
    """What the buyer chose for this order at checkout, else the account's preference."""
    if order.invoice_preference:
        return normalize(from_mapping(order.invoice_preference))
    return normalize(of_user(user))


def fields_to_json(fields: BuyerFields) -> dict[str, Any]:
    return dataclasses.asdict(fields)
