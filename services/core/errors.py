"""One error hierarchy: every failure a user can see has a code and an HTTP status."""

from __future__ import annotations

from typing import Any


class FieldProblem(str):
    """One field error: the English text clients have always read, plus a stable code the
    envelope lists under ``error_codes`` (a str, so ``errors`` renders exactly as before)."""

    code: str

    def __new__(cls, code: str, text: str) -> FieldProblem:
        problem = super().__new__(cls, text)
        problem.code = code
        return problem

    def __getnewargs__(self) -> tuple[str, str]:  # type: ignore[override]
        # copy/pickle would otherwise call __new__ with the text alone
        return (self.code, str(self))


class FluxusError(Exception):
    """Base of every expected Fluxus error; rendered as the JSON error envelope."""

    code = "error"
    status = 400

    def __init__(self, message: str = "", *, errors: dict[str, Any] | None = None,
                 code: str | None = None) -> None:
        super().__init__(message or self.__class__.__doc__ or self.code)
        self.message = message or (self.__class__.__doc__ or self.code).strip()
        self.errors = errors or {}
        if code:
            self.code = code

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "status": self.status, "message": self.message}
        if self.errors:
            body["errors"] = self.errors
        return body


class ConfigurationError(FluxusError):
    """The process is misconfigured."""

    code = "configuration_error"
    status = 500


class ValidationError(FluxusError):
    """The input is not valid."""

    code = "validation_error"
    status = 422


class AuthenticationError(FluxusError):
    """Authentication is required or failed."""

    code = "unauthorized"
    status = 401


class PermissionDenied(FluxusError):
    """You may not do this."""

    code = "forbidden"
    status = 403


class NotFound(FluxusError):
    """Not found."""

    code = "not_found"
    status = 404


class Conflict(FluxusError):
    """The request conflicts with the current state."""

    code = "conflict"
    status = 409


class DomainError(Conflict):
    """A business rule forbids this."""

    code = "domain_error"


class InvalidTransition(DomainError):
    """This status change is not allowed."""

    code = "invalid_transition"


class ServiceUnavailable(FluxusError):
    """A backing service is unavailable; try again later."""

    code = "service_unavailable"
    status = 503


class PaymentRejected(FluxusError):
    """A payment notification was refused."""

    code = "payment_rejected"
    status = 400
