"""Money in TWD with exact decimals, and Taiwan's 5% business tax included in prices."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from services.core.errors import ValidationError

CURRENCY = "TWD"
TAX_RATE_PERCENT = Decimal(5)
_WHOLE = Decimal(1)


def to_twd(value: Decimal | int | str) -> Decimal:
    """A whole-dollar TWD amount; ECPay accepts integers only, so cents are refused."""
    if isinstance(value, float):
        raise ValidationError("money must not be a float", errors={"amount": ["not a float"]})
    try:
        amount = Decimal(value)
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError(f"{value!r} is not an amount") from exc
    if not amount.is_finite() or amount != amount.to_integral_value():
        raise ValidationError(f"{value!r} is not a whole TWD amount")
    if amount < 0:
        raise ValidationError(f"{value!r} is negative")
    return amount.quantize(_WHOLE)


def round_half_up(value: Decimal) -> Decimal:
    return value.quantize(_WHOLE, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class TaxBreakdown:
    """A tax-included total split into its net amount and business tax."""

    amount: Decimal
    tax: Decimal
    total: Decimal
    currency: str = CURRENCY


def split_tax_included(total: Decimal | int | str) -> TaxBreakdown:
    """`tax = round_half_up(total × 5 / 105)`, `amount = total − tax`."""
    whole = to_twd(total)
    tax = round_half_up(whole * TAX_RATE_PERCENT / (100 + TAX_RATE_PERCENT))
    return TaxBreakdown(amount=whole - tax, tax=tax, total=whole)
