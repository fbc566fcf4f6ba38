"""Invoice numbers are sequential per year without duplicates under concurrent creation."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from services.core.db.invoice_numbers import allocate_invoice_number
from services.core.db.session import session_factory

pytestmark = pytest.mark.integration


def test_numbers_are_sequential_per_year(session: Session) -> None:
    assert allocate_invoice_number(session, 2026) == "FX2026-000001"
    assert allocate_invoice_number(session, 2026) == "FX2026-000002"
    assert allocate_invoice_number(session, 2027) == "FX2027-000001"
    session.commit()


def test_a_rolled_back_number_is_handed_out_again(session: Session) -> None:
    assert allocate_invoice_number(session, 2026) == "FX2026-000001"
    session.rollback()
    assert allocate_invoice_number(session, 2026) == "FX2026-000001"


def test_many_threads_get_distinct_gapless_numbers(engine: Engine) -> None:
    make_session = session_factory(engine)
    with make_session() as s:  # the first insert of a year races too; make it exist
        allocate_invoice_number(s, 2026)
        s.commit()

    def take(_: int) -> str:
        with make_session() as s:
            number = allocate_invoice_number(s, 2026)
            s.commit()
            return number

    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = list(pool.map(take, range(200)))
    assert len(set(numbers)) == 200
    assert sorted(numbers) == [f"FX2026-{n:06d}" for n in range(2, 202)]


def test_the_first_number_of_a_year_under_contention(engine: Engine) -> None:
    make_session = session_factory(engine)

    def take(_: int) -> str:
        with make_session() as s:
            number = allocate_invoice_number(s, 2030)
            s.commit()
            return number

    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = list(pool.map(take, range(40)))
    assert sorted(numbers) == [f"FX2030-{n:06d}" for n in range(1, 41)]
