"""The states of an e-invoice and why one was not issued."""

from __future__ import annotations

from enum import StrEnum


class EInvoiceStatus(StrEnum):
    PENDING = "pending"  # recorded with the payment; the worker has not got a number yet
    ISSUED = "issued"
    FAILED = "failed"  # ECPay refused it for good: a person must fix the data and retry
    VOIDED = "voided"
    NOT_ISSUED = "not_issued"  # nothing to issue; `reason` says why


class NotIssuedReason(StrEnum):
    DISABLED = "einvoicing_disabled"  # the merchant invoices elsewhere
    ZERO_TOTAL = "zero_total"  # ECPay never issues a zero invoice
    PREDATES = "predates_einvoicing"  # sold before e-invoicing existed (migration 0003)


class FailureReason(StrEnum):
    REFUSED = "refused"
    RANGE_EXHAUSTED = "range_exhausted"  # 字軌 used up: add a number range at ECPay
    AMOUNT_MISMATCH = "amount_mismatch"  # ECPay holds another total under our RelateNumber


class AllowanceStatus(StrEnum):
    ISSUED = "issued"
    PENDING_CONSENT = "pending_consent"
    VOIDED = "voided"
