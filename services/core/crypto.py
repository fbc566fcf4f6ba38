"""Encryption at rest for payment data (Fernet: AES-128-CBC + HMAC, key from settings)."""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from services.core.config import Settings, get_settings
from services.core.errors import ConfigurationError


def _fernet(settings: Settings | None = None) -> Fernet:
    settings = settings or get_settings()
    try:
        return Fernet(settings.fernet_key)
    except ValueError as exc:
        raise ConfigurationError(
            "FLUXUS_DATA_ENCRYPTION_KEY is not a valid key; generate one with `fluxus keygen`"
        ) from exc


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
