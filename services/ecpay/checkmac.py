"""ECPay CheckMacValue: the SHA256/MD5 signature over sorted, .NET-URL-encoded parameters."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from enum import IntEnum

CHECK_MAC_FIELD = "CheckMacValue"

# PHP urlencode() leaves exactly these bytes alone (space becomes "+"); Python's
# quote_plus() also leaves "~" alone, which gives a different hash than ECPay's.
_PHP_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")

# After lowercasing, ECPay turns these escapes back into the characters .NET's
# HttpUtility.UrlEncode leaves raw. Order and pattern set copied from the PHP SDK.
_DOTNET_UNESCAPES = (
    ("%2d", "-"),
    ("%5f", "_"),
    ("%2e", "."),
    ("%21", "!"),
    ("%2a", "*"),
    ("%28", "("),
    ("%29", ")"),
)


class EncryptType(IntEnum):
    """The `EncryptType` of an AIO request: which digest signs it."""

    MD5 = 0
    SHA256 = 1


def php_urlencode(text: str) -> str:
    """Encode like PHP's urlencode(): UTF-8, space as '+', uppercase hex, '~' escaped."""
    out: list[str] = []
    for byte in text.encode("utf-8"):
        if byte in _PHP_UNRESERVED:
            out.append(chr(byte))
        elif byte == 0x20:
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def dotnet_urlencode(text: str) -> str:
    """ECPay's CheckMacValue encoding: PHP urlencode, lowercased, .NET-safe chars restored."""
    encoded = php_urlencode(text).lower()
    for pattern, char in _DOTNET_UNESCAPES:
        encoded = encoded.replace(pattern, char)
    return encoded


def _sort_key(name: str) -> bytes:
    # PHP strcasecmp: byte-wise after ASCII-only lowercasing (bytes.lower is ASCII-only).
    return name.encode("utf-8").lower()


def _as_text(name: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(
            f"ECPay parameter {name!r} must be a str or int, not {type(value).__name__}"
        )
    return str(value)


def signing_string(params: Mapping[str, object], hash_key: str, hash_iv: str) -> str:
    """The encoded text that gets hashed (exposed for debugging mismatches)."""
    names = sorted((n for n in params if n != CHECK_MAC_FIELD), key=_sort_key)
    pairs = "".join(f"&{name}={_as_text(name, params[name])}" for name in names)
    return dotnet_urlencode(f"HashKey={hash_key}{pairs}&HashIV={hash_iv}")


def check_mac_value(
    params: Mapping[str, object],
    hash_key: str,
    hash_iv: str,
    encrypt_type: int = EncryptType.SHA256,
) -> str:
    """CheckMacValue over every parameter except CheckMacValue itself, uppercase hex."""
    data = signing_string(params, hash_key, hash_iv).encode("ascii")
    if encrypt_type == EncryptType.SHA256:
        return hashlib.sha256(data).hexdigest().upper()
    if encrypt_type == EncryptType.MD5:
        # MD5 is what ECPay's protocol mandates for EncryptType=0; not our choice.
        return hashlib.md5(data, usedforsecurity=False).hexdigest().upper()
    raise ValueError(f"EncryptType must be 0 (MD5) or 1 (SHA256), not {encrypt_type!r}")


def sign(
    params: Mapping[str, object],
    hash_key: str,
    hash_iv: str,
    encrypt_type: int = EncryptType.SHA256,
) -> dict[str, str]:
    """A copy of ``params`` as strings with its CheckMacValue added."""
    signed = {name: _as_text(name, value) for name, value in params.items()}
    signed.pop(CHECK_MAC_FIELD, None)
    signed[CHECK_MAC_FIELD] = check_mac_value(signed, hash_key, hash_iv, encrypt_type)
    return signed


def verify_check_mac_value(
    params: Mapping[str, object],
    hash_key: str,
    hash_iv: str,
    encrypt_type: int = EncryptType.SHA256,
) -> bool:
    """True when ``params`` carries the CheckMacValue its other fields produce."""
    given = params.get(CHECK_MAC_FIELD)
    if not isinstance(given, str) or not given:
        return False
    expected = check_mac_value(params, hash_key, hash_iv, encrypt_type)
    # Hex case carries no meaning; compare_digest keeps the comparison constant-time.
    return hmac.compare_digest(expected.encode("ascii"), given.upper().encode("utf-8"))
