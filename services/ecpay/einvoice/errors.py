"""Failures of ECPay's B2C e-invoice API, sorted by what the caller should do about them.

Independent of services.core on purpose: the protocol package is usable (and testable) with
nothing but the ecpay package; the core maps these onto its own error hierarchy.
"""

from __future__ import annotations

# ECPay asks callers that are "too fast" (HTTP 403) to stay away for 30 minutes.
TOO_FAST_RETRY_AFTER = 1800.0


class EInvoiceError(Exception):
    """Any e-invoice failure: ``code`` is ECPay's RtnCode/TransCode or the HTTP status."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code} {message}".strip())
        self.code = code
        self.message = message


class EInvoiceTransient(EInvoiceError):
    """Try again later (with back-off): network trouble, 5xx, 403 "too fast", busy, MOF down.

    After a transient failure of a call that changes state the outcome is unknown: the call
    may have happened (Issue then answers "duplicate RelateNumber" on the retry).
    """

    def __init__(self, code: int, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after


class EInvoiceDuplicate(EInvoiceError):
    """Issue refused because the RelateNumber was issued already: recover it with get_issue."""


class EInvoiceRefused(EInvoiceError):
    """A permanent refusal: a bad field or combination, wrong keys, unknown merchant..."""


class EInvoiceRangeExhausted(EInvoiceRefused):
    """The invoice number range (字軌) is used up: someone must add and enable a new one."""


class EInvoiceNotFound(EInvoiceError):
    """No such invoice or allowance at ECPay."""


class EInvoiceCutoffPassed(EInvoiceRefused):
    """Void refused: the invoice's bi-monthly filing period closed (13th of the odd month)."""


class EInvoiceHasAllowances(EInvoiceRefused):
    """Void refused while the invoice has allowances: void those first (5070450)."""


class EInvoiceAlreadyVoided(EInvoiceRefused):
    """The invoice or allowance was voided before; the client's void calls treat it as done."""


class ConsentSignatureInvalid(EInvoiceRefused):
    """A ReturnURL post whose CheckMacValue does not verify: not from ECPay, ignore it."""
