"""What can go wrong talking to the API, as the dashboard needs to tell the customer."""

from __future__ import annotations

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


class ApiError(Exception):
    """The API answered with its error envelope (or something we could not read)."""

    def __init__(
        self, status: int, code: str, message: str, errors: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors or {}

    @classmethod
    def from_response(cls, status: int, body: Any) -> ApiError:
        if not isinstance(body, dict):
            return cls(status, "http_error", f"HTTP {status}")
        return cls(
            status,
            str(body.get("code") or "http_error"),
            str(body.get("message") or f"HTTP {status}"),
            flatten_field_errors(body.get("errors")),
        )


class ApiUnavailable(ApiError):
    """The API (or the payment service) could not be reached or is failing."""

    def __init__(self, detail: str) -> None:
        super().__init__(503, "api_unavailable", detail)


class SessionExpired(ApiError):
    """The refresh token no longer works: the customer must log in again."""

    def __init__(self, detail: str = "session expired") -> None:
        super().__init__(401, "session_expired", detail)
