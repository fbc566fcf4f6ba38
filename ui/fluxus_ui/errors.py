"""What can go wrong talking to the API, as the dashboard needs to tell the customer."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# flask-smorest nests field errors under the request location they came from.
_LOCATIONS = ("json", "query", "form", "headers", "files", "path")


def flatten_field_errors(errors: Any) -> dict[str, str]:
    """{"json": {"password": ["too short"]}} → {"password": "too short"}."""
    if not isinstance(errors, dict):
        return {}
    flat: dict[str, str] = {}
    for key, value in errors.items():
        if key in _LOCATIONS and isinstance(value, dict):
            flat.update(flatten_field_errors(value))
        elif isinstance(value, list | tuple):
            flat[str(key)] = " ".join(str(v) for v in value if not isinstance(v, dict | list))
        elif isinstance(value, dict):
            flat[str(key)] = " ".join(flatten_field_errors(value).values())
        else:
            flat[str(key)] = str(value)
    return flat


def coded_field_errors(errors: Any, codes: Any) -> dict[str, list[tuple[str, str]]]:
    """Each field's (code, English message) pairs, where the API sent a code per message."""
    if not isinstance(errors, dict) or not isinstance(codes, dict):
        return {}
    coded: dict[str, list[tuple[str, str]]] = {}
    for field, messages in errors.items():
        field_codes = codes.get(field)
        if (isinstance(messages, list) and isinstance(field_codes, list)
                and len(messages) == len(field_codes)
                and all(isinstance(v, str) for v in (*messages, *field_codes))):
            coded[str(field)] = list(zip(field_codes, messages, strict=True))
    return coded


def localized_message(code: str, message: str, translate: Callable[..., str]) -> str:
    """The catalog's text for ``code`` (``field_error.<code>``), its {n0}, {n1} … filled with
    the numbers of the API's message; the API's own message for a code we do not know."""
    key = f"field_error.{code}"
    numbers = {f"n{i}": n for i, n in enumerate(re.findall(r"\d+", message))}
    try:
        text = translate(key, **numbers)
    except (KeyError, IndexError):  # the message lacks a number the text needs
        return message
    return message if text == key or "{" in text else text


class ApiError(Exception):
    """The API answered with its error envelope (or something we could not read)."""

    def __init__(
        self, status: int, code: str, message: str, errors: dict[str, str] | None = None,
        coded: dict[str, list[tuple[str, str]]] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors or {}  # field → the API's English text
        self.coded = coded or {}  # field → [(error code, English message), …]

    def field_errors(self, translate: Callable[..., str]) -> dict[str, str]:
        """``errors`` in the user's language: each message by its code where we know it."""
        shown = dict(self.errors)
        for field, pairs in self.coded.items():
            shown[field] = " ".join(localized_message(code, message, translate)
                                    for code, message in pairs)
        return shown

    @classmethod
    def from_response(cls, status: int, body: Any) -> ApiError:
        if not isinstance(body, dict):
            return cls(status, "http_error", f"HTTP {status}")
        return cls(
            status,
            str(body.get("code") or "http_error"),
            str(body.get("message") or f"HTTP {status}"),
            flatten_field_errors(body.get("errors")),
            coded_field_errors(body.get("errors"), body.get("error_codes")),
        )


class ApiUnavailable(ApiError):
    """The API (or the payment service) could not be reached or is failing."""

    def __init__(self, detail: str) -> None:
        super().__init__(503, "api_unavailable", detail)


class SessionExpired(ApiError):
    """The refresh token no longer works: the customer must log in again."""

    def __init__(self, detail: str = "session expired") -> None:
        super().__init__(401, "session_expired", detail)
