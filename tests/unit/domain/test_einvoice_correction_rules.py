"""A refund voids its e-invoice while ECPay allows it, else takes an allowance."""

from datetime import UTC, datetime, timedelta

import pytest

from services.core.domain.einvoice_corrections import Correction, choose_correction, filing_cutoff
from services.core.domain.periods import TAIPEI

pytestmark = pytest.mark.unit

MICROSECOND = timedelta(microseconds=1)


def taipei(y: int, m: int, d: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, s, us, tzinfo=TAIPEI)


def last_moment(y: int, m: int, d: int) -> datetime:
    return taipei(y, m, d, 23, 59, 59, 999999)


CUTOFFS = {
    "January: the Jan–Feb period closes Mar 13": (taipei(2027, 1, 1), last_moment(2027, 3, 13)),
    "February's last moment": (last_moment(2027, 2, 28), last_moment(2027, 3, 13)),
    "leap-day invoice": (taipei(2028, 2, 29, 12), last_moment(2028, 3, 13)),
    "March opens a new period, even on the 13th": (taipei(2027, 3, 13), last_moment(2027, 5, 13)),
    "April": (last_moment(2027, 4, 30), last_moment(2027, 5, 13)),
    "September": (taipei(2027, 9, 30), last_moment(2027, 11, 13)),
    "November closes in January of the next year": (taipei(2026, 11, 1), last_moment(2027, 1, 13)),
    "December's last moment": (last_moment(2026, 12, 31), last_moment(2027, 1, 13)),
    "Mar 1 00:30 in Taipei is still Feb 28 in UTC": (
        datetime(2027, 2, 28, 16, 30, tzinfo=UTC),
        last_moment(2027, 5, 13),
    ),
    "Jan 1 in Taipei is still Dec 31 in UTC": (
        datetime(2026, 12, 31, 16, 30, tzinfo=UTC),
        last_moment(2027, 3, 13),
    ),
    "Feb 28 23:59 in Taipei given in UTC": (
        datetime(2027, 2, 28, 15, 59, tzinfo=UTC),
        last_moment(2027, 3, 13),
    ),
}


@pytest.mark.parametrize(("invoice_date", "cutoff"), CUTOFFS.values(), ids=CUTOFFS.keys())
def test_filing_cutoff(invoice_date: datetime, cutoff: datetime) -> None:
    found = filing_cutoff(invoice_date)
    assert found == cutoff
    assert found.utcoffset() == timedelta(hours=8)


def test_the_cutoff_is_the_13th_in_taipei_which_is_15_59_utc() -> None:
    assert filing_cutoff(taipei(2027, 1, 20)).astimezone(UTC) == datetime(
        2027, 3, 13, 15, 59, 59, 999999, tzinfo=UTC
    )


def full_refund(invoice_date: datetime, now: datetime, *, donated: bool = False) -> Correction:
    return choose_correction(
        invoice_date=invoice_date,
        invoice_amount=990,
        remaining_allowance=990,
        refund_amount=990,
        now=now,
        donated=donated,
    )


BOUNDARIES = {
    "full refund the same day": (taipei(2027, 1, 20), taipei(2027, 1, 20, 9), Correction.VOID),
    "the last microsecond of Mar 13": (
        taipei(2027, 1, 20),
        last_moment(2027, 3, 13),
        Correction.VOID,
    ),
    "one microsecond later, Mar 14": (
        taipei(2027, 1, 20),
        last_moment(2027, 3, 13) + MICROSECOND,
        Correction.ALLOWANCE,
    ),
    "Mar 13 16:00 UTC is already Mar 14 in Taipei": (
        taipei(2027, 1, 20),
        datetime(2027, 3, 13, 16, 0, tzinfo=UTC),
        Correction.ALLOWANCE,
    ),
    "Mar 13 15:59 UTC is still Mar 13 in Taipei": (
        taipei(2027, 1, 20),
        datetime(2027, 3, 13, 15, 59, tzinfo=UTC),
        Correction.VOID,
    ),
    "a Mar 1 (Taipei) invoice can be voided in April": (
        datetime(2027, 2, 28, 16, 30, tzinfo=UTC),
        taipei(2027, 4, 20),
        Correction.VOID,
    ),
    "December invoice, the last microsecond of Jan 13": (
        last_moment(2026, 12, 31),
        last_moment(2027, 1, 13),
        Correction.VOID,
    ),
    "December invoice, Jan 14 of the next year": (
        last_moment(2026, 12, 31),
        last_moment(2027, 1, 13) + MICROSECOND,
        Correction.ALLOWANCE,
    ),
    "leap-day invoice on Mar 13": (taipei(2028, 2, 29), taipei(2028, 3, 13, 23), Correction.VOID),
    "leap-day invoice on Mar 14": (
        taipei(2028, 2, 29),
        taipei(2028, 3, 14),
        Correction.ALLOWANCE,
    ),
    "a March invoice is voidable past Mar 13": (
        taipei(2027, 3, 1),
        taipei(2027, 3, 31),
        Correction.VOID,
    ),
    "a year later": (taipei(2027, 1, 20), taipei(2028, 1, 20), Correction.ALLOWANCE),
}


@pytest.mark.parametrize(
    ("invoice_date", "now", "expected"), BOUNDARIES.values(), ids=BOUNDARIES.keys()
)
def test_full_refund_voids_until_the_cutoff(
    invoice_date: datetime, now: datetime, expected: Correction
) -> None:
    assert full_refund(invoice_date, now) is expected


def test_a_donated_invoice_takes_an_allowance_even_inside_the_period() -> None:
    assert full_refund(taipei(2027, 1, 20), taipei(2027, 1, 20, 9)) is Correction.VOID
    donated = full_refund(taipei(2027, 1, 20), taipei(2027, 1, 20, 9), donated=True)
    assert donated is Correction.ALLOWANCE


# (invoice amount, remaining allowance, refund amount) refunded the same day as issued
AMOUNTS = {
    "partial refund": (990, 990, 500, Correction.ALLOWANCE),
    "all but one dollar": (990, 990, 989, Correction.ALLOWANCE),
    "the rest after an earlier allowance": (990, 490, 490, Correction.ALLOWANCE),
    "part of the rest after an earlier allowance": (990, 490, 100, Correction.ALLOWANCE),
    "a one-dollar invoice refunded in full": (1, 1, 1, Correction.VOID),
}


@pytest.mark.parametrize(
    ("amount", "remaining", "refund", "expected"), AMOUNTS.values(), ids=AMOUNTS.keys()
)
def test_only_a_full_refund_of_an_untouched_invoice_voids(
    amount: int, remaining: int, refund: int, expected: Correction
) -> None:
    chosen = choose_correction(
        invoice_date=taipei(2027, 1, 20),
        invoice_amount=amount,
        remaining_allowance=remaining,
        refund_amount=refund,
        now=taipei(2027, 1, 20, 9),
    )
    assert chosen is expected


REFUSED = {
    "nothing refunded": (990, 990, 0),
    "a negative refund": (990, 990, -10),
    "more than the invoice": (990, 990, 991),
    "more than is left after an allowance": (990, 490, 491),
    "the whole invoice after an allowance": (990, 490, 990),
    "nothing left to reduce": (990, 0, 1),
    "more left than was invoiced": (990, 1000, 990),
    "a negative remainder": (990, -1, 1),
}


@pytest.mark.parametrize(("amount", "remaining", "refund"), REFUSED.values(), ids=REFUSED.keys())
def test_impossible_amounts_are_refused(amount: int, remaining: int, refund: int) -> None:
    with pytest.raises(ValueError):
        choose_correction(
            invoice_date=taipei(2027, 1, 20),
            invoice_amount=amount,
            remaining_allowance=remaining,
            refund_amount=refund,
            now=taipei(2027, 1, 20, 9),
        )


@pytest.mark.parametrize(
    ("invoice_date", "now"),
    [
        (datetime(2027, 1, 20), taipei(2027, 1, 20, 9)),  # noqa: DTZ001
        (taipei(2027, 1, 20), datetime(2027, 1, 20, 9)),  # noqa: DTZ001
    ],
    ids=["naive invoice date", "naive now"],
)
def test_naive_times_are_refused(invoice_date: datetime, now: datetime) -> None:
    # A naive time would be read as the server's zone and could move the cut-off by 8 hours.
    with pytest.raises(ValueError, match="timezone-aware"):
        full_refund(invoice_date, now)
