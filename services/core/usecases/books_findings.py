"""What `fluxus audit books` reports: the checks, one finding, and a check's query."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Select

# A query and how to read one of its rows as a finding.
Query = tuple[Select[*tuple[Any, ...]], Callable[[Any], "Finding"]]


class Check(StrEnum):
    PAID_ORDER_WITHOUT_INVOICE = "paid_order_without_invoice"
    ORDER_WITH_SEVERAL_INVOICES = "order_with_several_invoices"
    INVOICE_FOR_UNPAID_ORDER = "invoice_for_unpaid_order"
    INVOICE_TOTAL_MISMATCH = "invoice_total_mismatch"
    INVOICE_TAX_WRONG = "invoice_tax_wrong"
    ACTIVE_WITHOUT_PAID_PERIOD = "active_subscription_without_paid_period"
    NOTIFICATION_UNPROCESSED = "notification_never_processed"
    COMPLETED_ORDER_WITHOUT_PAYMENT = "completed_order_without_payment"
    ORDER_PAID_MORE_THAN_ONCE = "order_paid_more_than_once"
    PAID_ATTEMPT_FOR_UNPAID_ORDER = "paid_attempt_for_unpaid_order"
    PERIOD_CHARGE_UNACCOUNTED = "period_charge_unaccounted"
    PAYMENT_REVIEW_OPEN = "payment_review_open"
    PAID_ORDER_WITHOUT_EINVOICE = "paid_order_without_einvoice"
    EINVOICE_TOTAL_MISMATCH = "einvoice_total_mismatch"
    EINVOICE_FOR_UNPAID_ORDER = "einvoice_for_unpaid_order"
    EINVOICE_REFUSED = "einvoice_refused"
    EINVOICE_OVERDUE = "einvoice_overdue"
    REFUNDED_MORE_THAN_PAID = "refunded_more_than_paid"
    REFUND_ORDER_STATUS_MISMATCH = "refund_order_status_mismatch"
    REFUND_WITHOUT_EINVOICE_CORRECTION = "refund_without_einvoice_correction"
    REFUND_FAILED_OR_STUCK = "refund_failed_or_stuck"
    CREDIT_BALANCE_NEGATIVE = "credit_balance_negative"
    CREDIT_ENTRY_MALFORMED = "credit_entry_malformed"
    CREDIT_HELD_BY_CLOSED_ORDER = "credit_held_by_closed_order"
    ORDER_DISCOUNT_WRONG = "order_discount_wrong"
    COUPON_OVER_LIMIT = "coupon_redeemed_over_limit"
    REDEMPTION_PERIODS_MISCOUNTED = "coupon_periods_miscounted"


@dataclass(frozen=True)
class Finding:
    check: Check
    ids: dict[str, str]
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"check": str(self.check), "ids": self.ids, "detail": self.detail}

    def line(self) -> str:
        ids = " ".join(f"{name}={value}" for name, value in self.ids.items())
        return f"{self.check}: {ids} — {self.detail}"


def money(value: Any) -> str:
    return str(value)
