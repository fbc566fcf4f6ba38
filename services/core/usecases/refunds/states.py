"""The states a refund and its e-invoice step go through, and the choices staff make."""

from __future__ import annotations

from enum import StrEnum


class RefundMethod(StrEnum):
    CARD = "card"  # ECPay CreditDetail/DoAction
    MANUAL = "manual"  # a bank transfer staff make by hand (ATM, CVS, barcode: no refund API)


class RefundStatus(StrEnum):
    REQUESTED = "requested"  # card: recorded, its job not yet run
    SENT = "sent"  # card: being sent to ECPay (or will be retried at next_attempt_at)
    SUCCEEDED = "succeeded"  # card: ECPay gave the money back
    FAILED = "failed"  # card: ECPay refused (silence never fails one); a person must act
    OWED = "owed"  # manual: the transfer is still to be made
    CONFIRMED = "confirmed"  # manual: staff made the transfer (reference recorded)


class EInvoiceStep(StrEnum):
    PENDING = "pending"
    DONE = "done"
    NOT_NEEDED = "not_needed"  # no e-invoice was issued for the money
    FAILED = "failed"


class CancelChoice(StrEnum):
    NOW = "now"
    AT_PERIOD_END = "at_period_end"
    NO = "no"


# The money is back with the customer.
RETURNED = (RefundStatus.SUCCEEDED.value, RefundStatus.CONFIRMED.value)
# Counted against what was paid: everything but a failed refund.
COUNTED = (RefundStatus.REQUESTED.value, RefundStatus.SENT.value, RefundStatus.SUCCEEDED.value,
           RefundStatus.OWED.value, RefundStatus.CONFIRMED.value)
IN_FLIGHT = (RefundStatus.REQUESTED.value, RefundStatus.SENT.value)
