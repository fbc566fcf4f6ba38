"""Encryption at rest for payment data (Fernet: AES-128-CBC + HMAC, key from settings).

Whole documents (``orders.payment_data``) are sealed with ``encrypt_json``. JSON columns that
must stay readable for audit and queries (``payment_notifications.raw``,
``orders.payment_info``) use ``SealedJson``: only the card and bank fields in them are
encrypted, each value replaced by ``fluxus-enc:<token>``. Short secrets (webhook signing
secrets) use ``SealedText``: ``fluxus-enc:v1:<token>``. During a key rotation
``FLUXUS_DATA_ENCRYPTION_KEY`` is ``NEW,OLD``: the first key encrypts, every key decrypts,
and ``fluxus keys rotate`` re-encrypts what is stored with the first.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import JSON, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from services.core.config import Settings, get_settings
from services.core.errors import ConfigurationError

SEALED_PREFIX = "fluxus-enc:"
# ECPay's card and bank fields (compared without case or underscores): the card's first six
# and last four digits, the payer's bank account, and the ATM account / CVS code / barcodes
# issued for paying (whoever holds them can pay into, or learn about, the customer's order).
SENSITIVE_FIELDS = frozenset({
    "card4no", "card6no", "atmaccbank", "atmaccno", "webatmaccbank", "webatmaccno",
    "bankcode", "vaccount", "paymentno", "barcode1", "barcode2", "barcode3",
})


def _fernet(settings: Settings | None = None) -> MultiFernet:
    settings = settings or get_settings()
    try:
        keys = [Fernet(key) for key in settings.fernet_keys]
    except ValueError as exc:
        raise ConfigurationError(
            "FLUXUS_DATA_ENCRYPTION_KEY is not a valid key (or comma-separated list of keys);"
            " generate one with `fluxus keygen`"
        ) from exc
    return MultiFernet(keys)


def encrypt_json(value: dict[str, Any], settings: Settings | None = None) -> str:
    return _fernet(settings).encrypt(json.dumps(value, ensure_ascii=False).encode()).decode()


def decrypt_json(token: str, settings: Settings | None = None) -> dict[str, Any]:
    try:
        data = _fernet(settings).decrypt(token.encode())
    except InvalidToken as exc:
        message = "payment data cannot be decrypted with the configured key"
        raise ConfigurationError(message) from exc
    result: dict[str, Any] = json.loads(data)
    return result


def rotate_token(token: str, settings: Settings | None = None) -> str:
    """The same plaintext encrypted with the current key (from any accepted key)."""
    try:
        return _fernet(settings).rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise ConfigurationError("payment data cannot be decrypted with any configured key"
                                 ) from exc


def is_sensitive(field: str) -> bool:
    return field.replace("_", "").lower() in SENSITIVE_FIELDS


def seal_fields(document: dict[str, Any], settings: Settings | None = None) -> dict[str, Any]:
    """A copy of `document` with its sensitive values encrypted (nested documents too)."""
    fernet = _fernet(settings)
    sealed: dict[str, Any] = {}
    for key, value in document.items():
        if isinstance(value, dict):
            sealed[key] = seal_fields(value, settings)
        elif is_sensitive(key) and value not in (None, "") and not _is_sealed(value):
            plain = json.dumps(value, ensure_ascii=False).encode()
            sealed[key] = SEALED_PREFIX + fernet.encrypt(plain).decode()
        else:
            sealed[key] = value
    return sealed


def open_fields(document: dict[str, Any], settings: Settings | None = None) -> dict[str, Any]:
    """`document` with every sealed value decrypted (plaintext values are left as they are)."""
    fernet = _fernet(settings)
    opened: dict[str, Any] = {}
    for key, value in document.items():
        if isinstance(value, dict):
            opened[key] = open_fields(value, settings)
        elif _is_sealed(value):
            try:
                opened[key] = json.loads(fernet.decrypt(value.removeprefix(SEALED_PREFIX)))
            except InvalidToken as exc:
                raise ConfigurationError(
                    "payment data cannot be decrypted with the configured keys") from exc
        else:
            opened[key] = value
    return opened


def _is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(SEALED_PREFIX)


class SealedJson(TypeDecorator[dict[str, Any]]):
    """A JSON document whose sensitive fields are encrypted in the database and plain in
    Python, with the process's keys (JSONB on PostgreSQL, JSON elsewhere, as JsonDoc)."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(JSONB() if dialect.name == "postgresql" else JSON())

    def process_bind_param(self, value: dict[str, Any] | None,
                           dialect: Dialect) -> dict[str, Any] | None:
        return None if value is None else seal_fields(value)

    def process_result_value(self, value: dict[str, Any] | None,
                             dialect: Dialect) -> dict[str, Any] | None:
        return None if value is None else open_fields(value)


SEALED_TEXT_PREFIX = "fluxus-enc:v1:"


class LegacyPlaintext(str):
    """A value SealedText read without its prefix: stored before it was sealed (it is
    still read, and callers can see it should be written again, sealed)."""

    __slots__ = ()


def seal_text(value: str, settings: Settings | None = None) -> str:
    return SEALED_TEXT_PREFIX + _fernet(settings).encrypt(value.encode()).decode()


def open_text(stored: str, settings: Settings | None = None) -> str:
    if not stored.startswith(SEALED_TEXT_PREFIX):
        return LegacyPlaintext(stored)
    try:
        return _fernet(settings).decrypt(stored.removeprefix(SEALED_TEXT_PREFIX)).decode()
    except InvalidToken as exc:
        raise ConfigurationError("a stored secret cannot be decrypted with the configured keys"
                                 ) from exc


class SealedText(TypeDecorator[str]):
    """A short secret encrypted in the database (versioned prefix) and plain in Python.

    Rows without the prefix are plaintext written before the column was sealed: they are
    read as they are (as LegacyPlaintext) and sealed when written again."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else seal_text(str(value))

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else open_text(value)
