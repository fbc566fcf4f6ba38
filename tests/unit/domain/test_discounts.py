"""Coupon arithmetic: the discount comes off the tax-inclusive price, the tax is derived from
what is left, a total is never negative, and a coupon lasts its duration."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.core.domain.discounts import (
    CouponKind,
    CouponTerms,
    Duration,
    apply,
    check_duration,
    covers_next_period,
    label,
)
from services.core.errors import ValidationError

PERCENT, AMOUNT = CouponKind.PERCENT, CouponKind.AMOUNT


@pytest.mark.parametrize(
    ("terms", "price", "discount", "total", "tax"),
    [
        # NT$990 with 10% off: 891, tax round(891 × 5/105) = 42 from the discounted total.
        (CouponTerms(PERCENT, percent_off=10), 990, 99, 891, 42),
        # 15% of 990 is 148.5: rounded half up to 149.
        (CouponTerms(PERCENT, percent_off=15), 990, 149, 841, 40),
        (CouponTerms(PERCENT, percent_off=100), 990, 990, 0, 0),
        (CouponTerms(PERCENT, percent_off=1), 1, 0, 1, 0),
        (CouponTerms(AMOUNT, amount_off=Decimal(100)), 990, 100, 890, 42),
        # A fixed NT$1000 off a NT$990 plan: free, never negative.
        (CouponTerms(AMOUNT, amount_off=Decimal(1000)), 990, 990, 0, 0),
        (CouponTerms(PERCENT, percent_off=20), 3000, 600, 2400, 114),
    ],
)
def test_discount_then_tax_from_the_discounted_total(
        terms: CouponTerms, price: int, discount: int, total: int, tax: int) -> None:
    result = apply(terms.check(), price)
    assert (result.discount, result.total) == (discount, total)
    assert result.list_price - result.discount == result.total
    assert (result.tax.tax, result.tax.amount + result.tax.tax) == (tax, total)


@pytest.mark.parametrize("terms", [
    CouponTerms(PERCENT, percent_off=0), CouponTerms(PERCENT, percent_off=101),
    CouponTerms(PERCENT), CouponTerms(AMOUNT), CouponTerms(AMOUNT, amount_off=Decimal(0)),
    CouponTerms(AMOUNT, amount_off=Decimal("9.5")),
    CouponTerms(PERCENT, percent_off=10, amount_off=Decimal(5)),
])
def test_terms_that_make_no_sense_are_refused(terms: CouponTerms) -> None:
    with pytest.raises(ValidationError):
        terms.check()


@pytest.mark.parametrize(("duration", "periods", "used", "covered"), [
    (Duration.ONCE, None, 0, True), (Duration.ONCE, None, 1, False),
    (Duration.REPEATING, 3, 2, True), (Duration.REPEATING, 3, 3, False),
    (Duration.FOREVER, None, 120, True),
])
def test_a_coupon_covers_its_duration_only(duration: Duration, periods: int | None, used: int,
                                           covered: bool) -> None:
    assert covers_next_period(duration, periods, used) is covered


def test_repeating_needs_periods_and_only_repeating_has_them() -> None:
    check_duration(Duration.REPEATING, 2)
    with pytest.raises(ValidationError):
        check_duration(Duration.REPEATING, None)
    with pytest.raises(ValidationError):
        check_duration(Duration.FOREVER, 3)


def test_the_invoice_line_names_the_coupon() -> None:
    assert label("SPRING", CouponTerms(PERCENT, percent_off=10)) == "SPRING −10%"
    assert label("WELCOME", CouponTerms(AMOUNT, amount_off=Decimal(1000))) == "WELCOME −NT$1,000"
