"""Taiwan's 統一編號 (unified business number): format and the Ministry of Finance checksum."""

from __future__ import annotations

import re

_WEIGHTS = (1, 2, 1, 2, 1, 2, 4, 1)
_EIGHT_ASCII_DIGITS = re.compile(r"[0-9]{8}")
# Since 2023-04-01 the Ministry of Finance accepts a weighted digit sum divisible by 5 (it was
# 10) so that it can hand out more numbers; every number the old rule accepted still passes.
_DIVISOR = 5


def is_valid_tax_id(value: str) -> bool:
    """True for exactly 8 ASCII digits whose weighted digit sum passes the current rule.

    Each digit is multiplied by its weight and the digits of each product are added. When the
    7th digit is 7 its product is 28, whose digit sum 10 may count as 1 or as 0, so a sum one
    short of the divisor's multiple also passes. Callers strip input first: this is exact.
    """
    if not _EIGHT_ASCII_DIGITS.fullmatch(value):
        return False
    total = sum(
        _digit_sum(int(digit) * weight) for digit, weight in zip(value, _WEIGHTS, strict=True)
    )
    if total % _DIVISOR == 0:
        return True
    return value[6] == "7" and (total + 1) % _DIVISOR == 0


def _digit_sum(product: int) -> int:
    tens, ones = divmod(product, 10)
    return tens + ones
