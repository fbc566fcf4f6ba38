"""A list endpoint's page and total from one statement (the count rides on each row), on
PostgreSQL and on SQLite: the total stays right on the last page, past it, on an empty list
and for a DISTINCT query, where the window would count the rows before DISTINCT."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from services.core.db.models import Coupon, User
from services.core.usecases.api_pages import paginate
from tests.support.factories import make_user

pytestmark = pytest.mark.integration


def _statements(session: Session) -> list[str]:
    seen: list[str] = []
    event.listen(session.get_bind(), "before_cursor_execute",
                 lambda *args: seen.append(args[2]))
    return seen


@pytest.fixture
def five_users(any_session: Session) -> list[User]:
    users = [make_user(any_session, username=f"pager{n}") for n in range(5)]
    any_session.flush()
    return users


def _ordered() -> object:
    return select(User).where(User.username.like("pager%")).order_by(User.username)


def test_a_page_and_the_total_in_one_statement(any_session: Session,
                                              five_users: list[User]) -> None:
    seen = _statements(any_session)
    first = paginate(any_session, _ordered(), page=1, page_size=2)  # type: ignore[arg-type]
    assert [u.username for u in first.items] == ["pager0", "pager1"]
    assert (first.total, first.pages) == (5, 3)
    assert len(seen) == 1
    last = paginate(any_session, _ordered(), page=3, page_size=2)  # type: ignore[arg-type]
    assert [u.username for u in last.items] == ["pager4"] and last.total == 5


def test_past_the_last_page_the_total_is_still_counted(any_session: Session,
                                                       five_users: list[User]) -> None:
    past = paginate(any_session, _ordered(), page=9, page_size=2)  # type: ignore[arg-type]
    assert past.items == [] and past.total == 5 and past.pages == 3


def test_an_empty_list_is_zero_rows_and_zero_pages(any_session: Session) -> None:
    empty = paginate(any_session, select(Coupon).order_by(Coupon.id), page=1, page_size=20)
    assert (empty.items, empty.total, empty.pages) == ([], 0, 0)


def test_a_distinct_query_counts_distinct_rows(any_session: Session,
                                               five_users: list[User]) -> None:
    query = (select(User.is_staff).where(User.username.like("pager%")).distinct()
             .order_by(User.is_staff))
    page = paginate(any_session, query, page=1, page_size=10)
    assert page.items == [False] and page.total == 1
