"""The simulated e-invoice account's calendar rule: voids close with the bi-monthly filing."""

from __future__ import annotations

from datetime import datetime

import pytest

from services.ecpay.einvoice import TAIPEI
from services.ecpay.simulator.einvoice_store import void_deadline

pytestmark = pytest.mark.unit


def taipei(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=TAIPEI)


@pytest.mark.parametrize(
    ("issued", "deadline"),
    [
        (taipei(2026, 1, 1, 0), taipei(2026, 3, 13)),
        (taipei(2026, 2, 28, 23), taipei(2026, 3, 13)),
        (taipei(2026, 3, 1), taipei(2026, 5, 13)),
        (taipei(2026, 4, 30), taipei(2026, 5, 13)),
        (taipei(2026, 11, 2), taipei(2027, 1, 13)),
        (taipei(2026, 12, 31, 23), taipei(2027, 1, 13)),
    ],
)
def test_the_void_deadline_is_the_13th_of_the_next_odd_month(
    issued: datetime, deadline: datetime
) -> None:
    assert void_deadline(issued) == deadline.replace(hour=23, minute=59, second=59)


def test_the_period_is_taken_in_taipei_time() -> None:
    # 2026-02-28 16:30 UTC is already 1 March in Taipei: the March-April period.
    utc_evening = datetime.fromisoformat("2026-02-28T16:30:00+00:00")
    assert void_deadline(utc_evening) == taipei(2026, 5, 13).replace(hour=23, minute=59, second=59)
