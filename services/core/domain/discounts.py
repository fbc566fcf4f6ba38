"""Coupon arithmetic: a discount off a tax-inclusive NT$ price, and how long it lasts.

The discount is taken off the tax-inclusive price first; the tax is then derived from what
is left (round(total × 5/105)), as for any other order. A discount never exceeds the price,
so a total is never negative.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from services.core.domain.money import TaxBreakdown, round_half_up, split_tax_included, to_twd
from services.core.errors import ValidationError


class CouponKind(StrEnum):
    PERCENT = "percent"
    AMOUNT = "amount"  # a fixed NT$ amount off each discounted period


class Duration(StrEnum):
    ONCE = "once"  # the first paid period only
    REPEATING = "repeating"  # the first `duration_periods` paid periods
    FOREVER = "forever"


@dataclass(frozen=True)
class CouponTerms:
    """What a coupon takes off: `percent_off` (1–100) or `amount_off` (whole NT$)."""

    kind: CouponKind
    percent_off: int | None = None
    amount_off: Decimal | None = None

    def check(self) -> CouponTerms:
        if self.kind is CouponKind.PERCENT:
            if self.percent_off is None or not 1 <= self.percent_off <= 100:
                raise ValidationError("A percent coupon takes 1 to 100 percent off.",
                                      errors={"percent_off": ["1 to 100"]})
            if self.amount_off is not None:
                raise ValidationError("A percent coupon has no amount_off.",
                                      errors={"amount_off": ["only for amount coupons"]})
        else:
            if self.amount_off is None or to_twd(self.amount_off) <= 0:
                raise ValidationError("An amount coupon takes a whole NT$ amount off.",
                                      errors={"amount_off": ["a whole NT$ amount above 0"]})
            if self.percent_off is not None:
                raise ValidationError("An amount coupon has no percent_off.",
                                      errors={"percent_off": ["only for percent coupons"]})
        return self


@dataclass(frozen=True)
class Discounted:
    """A list price with a coupon taken off: `total = list_price − discount` (≥ 0)."""

    list_price: Decimal
    discount: Decimal
    total: Decimal

    @property
    def tax(self) -> TaxBreakdown:
        return split_tax_included(self.total)


def discount_of(terms: CouponTerms, list_price: Decimal | int) -> Decimal:
    """The whole NT$ a coupon takes off `list_price` (percent rounded half up), never more
    than the price itself."""
    price = to_twd(list_price)
    if terms.kind is CouponKind.PERCENT:
        off = round_half_up(price * Decimal(terms.percent_off or 0) / 100)
    else:
        off = to_twd(terms.amount_off or 0)
    return min(off, price)


def apply(terms: CouponTerms, list_price: Decimal | int) -> Discounted:
    price = to_twd(list_price)
    off = discount_of(terms, price)
    return Discounted(list_price=price, discount=off, total=price - off)


def check_duration(duration: Duration, periods: int | None) -> None:
    if duration is Duration.REPEATING and (periods is None or periods < 1):
        raise ValidationError("A repeating coupon lasts one or more periods.",
                              errors={"duration_periods": ["1 or more"]})
    if duration is not Duration.REPEATING and periods is not None:
        raise ValidationError("Only a repeating coupon has a number of periods.",
                              errors={"duration_periods": ["only for repeating"]})


def covers_next_period(duration: Duration, periods: int | None, periods_used: int) -> bool:
    """Whether the next paid period of a subscription is still discounted, after
    `periods_used` discounted periods were paid."""
    if duration is Duration.FOREVER:
        return True
    if duration is Duration.ONCE:
        return periods_used < 1
    return periods_used < (periods or 0)


def label(code: str, terms: CouponTerms) -> str:
    """How the discount reads on an invoice line, e.g. "SPRING −10%" or "WELCOME −NT$100"."""
    if terms.kind is CouponKind.PERCENT:
        return f"{code} −{terms.percent_off}%"
    return f"{code} −NT${to_twd(terms.amount_off or 0):,}"
