"""A 統一編號 a customer types is accepted exactly when the Ministry of Finance would accept it."""

import pytest

from services.core.domain.tax_ids import is_valid_tax_id

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("tax_id", "why"),
    [
        ("22099131", "TSMC, a published real number"),
        ("00501503", "a real number from python-stdnum's list of numbers found online"),
        ("00277104", "a real number from python-stdnum's list"),
        ("70618800", "a real number from python-stdnum's list"),
        ("04595257", "valid under the old divisible-by-10 rule as well"),
        ("11337775", "real, 7th digit 7: valid only when the 10 from 28 counts as 1"),
        ("12345675", "7th digit 7, weighted sum 39: valid through the sum+1 allowance"),
        ("10458575", "7th digit 7, weighted sum 30: valid without the allowance"),
    ],
)
def test_numbers_valid_under_both_the_old_and_the_current_rule(tax_id: str, why: str) -> None:
    assert is_valid_tax_id(tax_id), why


@pytest.mark.parametrize(
    "tax_id",
    [
        "04595252",  # weighted sum 35; the example of a newly released number
        "99874578",  # 55
        "10458570",  # 7th digit 7, sum 25: the sum itself divisible by 5
        "12345670",  # 7th digit 7, sum 34: only sum+1 = 35 divisible by 5
        "12345671",  # 7th digit 7, sum 35
    ],
)
def test_numbers_released_since_2023_are_accepted(tax_id: str) -> None:
    # Each fails the old divisible-by-10 rule; refusing them would deny a company released
    # a number since 2023 its B2B invoice.
    assert is_valid_tax_id(tax_id)


@pytest.mark.parametrize(
    "tax_id",
    [
        "22099132",  # TSMC with the last digit off by one
        "00277103",
        "12345677",  # 7th digit 7, sum 41: neither 41 nor 42 divisible by 5
        "12345678",
        "12345674",  # 7th digit 7, sum 38: the allowance is +1, never +2
        "22099130",  # sum 29: one short, but the +1 allowance is for a 7th digit 7 only
    ],
)
def test_a_typo_fails_the_checksum(tax_id: str) -> None:
    assert not is_valid_tax_id(tax_id)


@pytest.mark.parametrize(
    "tax_id",
    [
        "",
        "2209913",  # 7 digits
        "220991310",  # 9 digits
        "2209913a",
        " 22099131",  # callers strip; the check itself is exact
        "22099131\n",
        "2209-9131",
        "２２０９９１３１",  # full-width digits pass str.isdigit(), but ECPay wants ASCII
        "٢٢٠٩٩١٣١",  # Arabic-Indic digits, likewise
        "+2099131",
    ],
)
def test_anything_but_eight_ascii_digits_is_refused(tax_id: str) -> None:
    assert not is_valid_tax_id(tax_id)
