"""Order numbers fit ECPay's MerchantTradeNo and never repeat."""

from datetime import UTC, datetime, timedelta

import pytest

from services.core.domain.order_numbers import new_order_number, validate_merchant_trade_no
from services.core.errors import ValidationError

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)


def test_format_is_at_most_20_alphanumerics() -> None:
    number = new_order_number(NOW)
    assert len(number) == 20
    assert number.isalnum() and number.isascii()
    assert validate_merchant_trade_no(number) == number


def test_100_000_draws_in_one_millisecond_are_unique() -> None:
    numbers = {new_order_number(NOW) for _ in range(100_000)}
    assert len(numbers) == 100_000


def test_numbers_sort_by_time() -> None:
    times = [NOW + timedelta(milliseconds=i * 7) for i in range(200)]
    numbers = [new_order_number(t) for t in times]
    assert numbers == sorted(numbers)


@pytest.mark.parametrize("bad", ["", "A" * 21, "FX-123", "訂單123", "FX 1"])
def test_invalid_merchant_trade_numbers_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        validate_merchant_trade_no(bad)
