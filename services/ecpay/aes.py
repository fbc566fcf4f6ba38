"""AES-128-CBC of the B2C e-invoice `Data` field (URL-encoded JSON, PKCS7, base64)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import unquote_plus

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from services.ecpay.checkmac import php_urlencode

_BLOCK_BITS = 128


class DataDecryptError(ValueError):
    """An e-invoice `Data` value that is not base64, not ours (wrong key/IV), or not JSON.

    Defined here, not in services.core, so that the e-invoice protocol package depends on
    nothing but the ecpay package.
    """


def _cipher(hash_key: str, hash_iv: str) -> Cipher[modes.CBC]:
    key, iv = hash_key.encode("ascii"), hash_iv.encode("ascii")
    if len(key) != 16 or len(iv) != 16:
        raise ValueError("e-invoice HashKey and HashIV must each be 16 ASCII characters")
    return Cipher(algorithms.AES(key), modes.CBC(iv))


def php_json(data: Any) -> str:
    """JSON as PHP's json_encode() writes it: compact, \\uXXXX for non-ASCII, '\\/' for '/'."""
    # '/' can only occur inside JSON strings, so a textual replace is exact.
    return json.dumps(data, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/")


def encrypt_text(plaintext: str, hash_key: str, hash_iv: str) -> str:
    """Encrypt an already-serialized JSON text: urlencode, AES-128-CBC/PKCS7, base64."""
    padder = padding.PKCS7(_BLOCK_BITS).padder()
    padded = padder.update(php_urlencode(plaintext).encode("ascii")) + padder.finalize()
    encryptor = _cipher(hash_key, hash_iv).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")


def decrypt_text(data: str, hash_key: str, hash_iv: str) -> str:
    """Reverse of encrypt_text; a corrupt or wrongly keyed payload raises DataDecryptError."""
    try:
        raw = base64.b64decode(data, validate=True)
        decryptor = _cipher(hash_key, hash_iv).decryptor()
        padded = decryptor.update(raw) + decryptor.finalize()
        unpadder = padding.PKCS7(_BLOCK_BITS).unpadder()
        encoded = (unpadder.update(padded) + unpadder.finalize()).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise DataDecryptError(f"e-invoice Data cannot be decrypted: {exc}") from exc
    return unquote_plus(encoded, encoding="utf-8", errors="strict")


def encrypt_data(data: Any, hash_key: str, hash_iv: str) -> str:
    """Serialize ``data`` the way ECPay's PHP SDK does, then encrypt it."""
    return encrypt_text(php_json(data), hash_key, hash_iv)


def decrypt_data(data: str, hash_key: str, hash_iv: str) -> Any:
    """Decrypt an e-invoice `Data` value back into Python objects."""
    text = decrypt_text(data, hash_key, hash_iv)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataDecryptError(f"e-invoice Data is not JSON: {exc}") from exc
