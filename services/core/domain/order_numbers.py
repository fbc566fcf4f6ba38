"""Order numbers usable as ECPay MerchantTradeNo: ≤ 20 of [A-Za-z0-9], unique, time-ordered."""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from services.core.errors import ValidationError

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
PREFIX = "FX"
_TIME_DIGITS = 9  # base-36 milliseconds since 1970: fits until the year 5188
_RANDOM_DIGITS = 20 - len(PREFIX) - _TIME_DIGITS
PATTERN = re.compile(r"^[A-Za-z0-9]{1,20}$")


def _base36(value: int, width: int) -> str:
    digits = []
    for _ in range(width):
        value, rest = divmod(value, 36)
        digits.append(ALPHABET[rest])
    return "".join(reversed(digits))


def new_order_number(now: datetime) -> str:
    """`FX` + 9 base-36 digits of milliseconds + 9 random base-36 digits (≈ 46 bits).

    The time part makes numbers sort roughly by creation; the random part makes a collision
    within one millisecond practically impossible. The database's unique constraint is the
    real guard, and numbers are never reused because rows are never deleted.
    """
    if now.tzinfo is None:
        raise ValueError("order numbers need a timezone-aware time")
    millis = int(now.timestamp() * 1000)
    randomness = secrets.randbelow(36**_RANDOM_DIGITS)
    return PREFIX + _base36(millis, _TIME_DIGITS) + _base36(randomness, _RANDOM_DIGITS)


def validate_merchant_trade_no(value: str) -> str:
    if not PATTERN.match(value):
        raise ValidationError(
            "MerchantTradeNo must be 1-20 letters or digits",
            errors={"MerchantTradeNo": ["1-20 characters of A-Z, a-z, 0-9"]},
        )
    return value
