"""Pages of query results for the API's list endpoints (page numbers from 1, total counted)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Integer, Row, Select, bindparam, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")
MAX_PAGE_SIZE = 100
_LIMIT, _OFFSET = "page_limit", "page_offset"
Statement = Select[*tuple[Any, ...]]  # a select of any number of entities or columns


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return (self.total + self.page_size - 1) // self.page_size if self.total else 0


@dataclass(frozen=True)
class PageQuery:
    """A list's query (already ordered) and its page window: the page as bind parameters and
    the total riding on each row as `count(*) OVER ()`. A list that builds one once, with its
    own values as bind parameters too, runs the same statement objects on every request:
    nothing is built again, and SQLAlchemy keeps each statement's cache key on it."""

    query: Statement
    window: Statement
    width: int  # entities or columns per row of `query`

    @classmethod
    def of(cls, query: Statement) -> PageQuery:
        return cls(query=query, window=page_window(query), width=len(query.column_descriptions))


def page_window(query: Statement) -> Statement:
    """`query`'s page, with the page as bind parameters and the total on each row (last, as
    `page_total`): a PageQuery's window, or the subquery of one that joins more to its page."""
    if query._distinct or query._group_by_clauses:
        raise ValueError("The window would count rows before DISTINCT or grouping.")
    return (query.limit(bindparam(_LIMIT, type_=Integer))
            .offset(bindparam(_OFFSET, type_=Integer))
            .add_columns(func.count().over().label("page_total")))


def paginate(session: Session, query: Select[Any] | PageQuery, *, page: int, page_size: int,
             params: dict[str, Any] | None = None) -> Page[Any]:
    """Run `query` for one page and count all its rows, in one round trip. Items are the rows'
    one entity or column; a PageQuery's rows may select several (items are then tuples of
    them) and take the values of its own bind parameters from `params`."""
    page = max(page, 1)
    page_size = min(max(page_size, 1), MAX_PAGE_SIZE)
    if isinstance(query, PageQuery):
        rows = session.execute(query.window, {
            **(params or {}), _LIMIT: page_size, _OFFSET: (page - 1) * page_size}).all()
        return _page(session, query.query, rows, query.width, page, page_size, params)
    window = query.limit(page_size).offset((page - 1) * page_size)
    if query._distinct or query._group_by_clauses:
        # The window would count rows before DISTINCT or grouping: count them apart.
        items = list(session.scalars(window))
        return Page(items=items, total=_count(session, query), page=page, page_size=page_size)
    rows = session.execute(window.add_columns(func.count().over())).all()
    return _page(session, query, rows, 1, page, page_size, params)


def _page(session: Session, query: Statement, rows: Sequence[Row[Any]], width: int,
          page: int, page_size: int, params: dict[str, Any] | None) -> Page[Any]:
    if not rows:  # past the last page (or nothing at all): no row carried the count
        total = _count(session, query, params) if page > 1 else 0
        return Page(items=[], total=total, page=page, page_size=page_size)
    return Page(items=_items(rows, width), total=int(rows[0][width]), page=page,
                page_size=page_size)


def _items(rows: Sequence[Row[Any]], width: int) -> list[Any]:
    return [row[0] for row in rows] if width == 1 else [tuple(row[:width]) for row in rows]


def _count(session: Session, query: Statement, params: dict[str, Any] | None = None) -> int:
    return int(session.scalar(select(func.count()).select_from(
        query.order_by(None).subquery()), params) or 0)
