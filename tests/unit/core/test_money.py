"""Money is exact and the 5% business tax is included in the price."""

from decimal import Decimal

import pytest

from services.core.domain.money import round_half_up, split_tax_included, to_twd
from services.core.errors import ValidationError

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("total", "tax", "amount"),
    [
        (0, 0, 0),
        (1, 0, 1),  # 0.0476 rounds down
        (10, 0, 10),  # 0.476 rounds down
        (11, 1, 10),  # 0.5238 rounds up
        (21, 1, 20),  # exactly 1.0
        (105, 5, 100),
        (299, 14, 285),  # 14.238
        (310, 15, 295),  # 14.7619
        (990, 47, 943),  # 47.142
        (30000, 1429, 28571),  # 1428.571
    ],
)
def test_tax_is_five_percent_included_in_the_total(total: int, tax: int, amount: int) -> None:
    split = split_tax_included(total)
    assert (split.tax, split.amount, split.total) == (Decimal(tax), Decimal(amount), Decimal(total))
    assert split.amount + split.tax == split.total


def test_half_dollars_round_up_not_to_even() -> None:
    # Banker's rounding (Python's default) would give 52, 2 and 0 here.
    assert round_half_up(Decimal("52.5")) == Decimal(53)
    assert round_half_up(Decimal("2.5")) == Decimal(3)
    assert round_half_up(Decimal("0.5")) == Decimal(1)
    assert round_half_up(Decimal("0.4999")) == Decimal(0)


def test_total_of_exactly_half_boundary() -> None:
    # total × 5 / 105 = x.5 exactly when total = 21k + 10.5 — impossible for whole dollars,
    # so the .5 case appears only on the rounding helper; check it on the neighbours.
    assert split_tax_included(10).tax == Decimal(0)
    assert split_tax_included(11).tax == Decimal(1)
    assert split_tax_included(31).tax == Decimal(1)  # 1.476
    assert split_tax_included(32).tax == Decimal(2)  # 1.5238


@pytest.mark.parametrize("bad", ["12.5", "-1", "abc", "NaN", "Infinity"])
def test_amounts_that_are_not_whole_positive_dollars_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        to_twd(bad)


def test_floats_are_refused_outright() -> None:
    with pytest.raises(ValidationError):
        to_twd(12.0)  # type: ignore[arg-type]
