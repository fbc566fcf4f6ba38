"""Whether a refund voids (作廢) its e-invoice or takes an allowance (折讓) on it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from services.core.domain.periods import TAIPEI

_CUTOFF_DAY = 13


def filing_cutoff(invoice_date: datetime) -> datetime:
    """The last moment ECPay still voids an invoice, in Asia/Taipei.

    VAT is filed per two-month period (Jan–Feb, Mar–Apr, …) by the 15th of the following odd
    month, and ECPay refuses voids of that period after 23:59:59 on the 13th: Jan–Feb invoices
    until Mar 13, Nov–Dec invoices until Jan 13 of the next year.
    """
    if invoice_date.tzinfo is None:
        raise ValueError("invoice dates must be timezone-aware")
    local = invoice_date.astimezone(TAIPEI)
    first_month = local.month - (local.month + 1) % 2  # the odd month that opens the period
    months = first_month - 1 + 2  # 0-based month of the filing month
    year, month = local.year + months // 12, months % 12 + 1
    return datetime(year, month, _CUTOFF_DAY, 23, 59, 59, 999999, tzinfo=TAIPEI)


class Correction(StrEnum):
    VOID = "void"
    ALLOWANCE = "allowance"


def choose_correction(
    *,
    invoice_date: datetime,
    invoice_amount: int,
    remaining_allowance: int,
    refund_amount: int,
    now: datetime,
    donated: bool = False,
) -> Correction:
    """VOID only for a full refund of an untouched invoice before its filing cut-off.

    Everything else is an ALLOWANCE: a partial refund, an invoice that already has allowances
    (voiding it would first mean voiding each of them), or a void ECPay would refuse because
    the period has been filed.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not 0 <= remaining_allowance <= invoice_amount:
        raise ValueError(
            f"remaining allowance {remaining_allowance} is outside 0..{invoice_amount}"
        )
    if refund_amount <= 0 or refund_amount > remaining_allowance:
        raise ValueError(
            f"refund {refund_amount} must be above 0 and at most the {remaining_allowance} "
            "the invoice can still be reduced by"
        )
    if donated:
        # Only ECPay's own skill guide says a donated invoice cannot be voided, unconfirmed.
        # An allowance is legal either way, while a refused void would leave a refunded
        # payment with its invoice uncorrected until someone notices; so take the safe side.
        return Correction.ALLOWANCE
    # Refunding the whole invoice passes the checks above only while no allowance has been
    # taken (remaining == invoice_amount), so this is also "the invoice is untouched".
    refunds_everything = refund_amount == invoice_amount
    if refunds_everything and now <= filing_cutoff(invoice_date):
        return Correction.VOID
    return Correction.ALLOWANCE
