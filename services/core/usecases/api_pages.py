"""Pages of query results for the API's list endpoints (page numbers from 1, total counted)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return (self.total + self.page_size - 1) // self.page_size if self.total else 0


def paginate(session: Session, query: Select[Any], *, page: int, page_size: int) -> Page[Any]:
    """Run `query` (already ordered, one entity or column) for one page and count all its
    rows: in one round trip, the count riding on each row as `count(*) OVER ()`."""
    page = max(page, 1)
    page_size = min(max(page_size, 1), MAX_PAGE_SIZE)
    window = query.limit(page_size).offset((page - 1) * page_size)
    if query._distinct or query._group_by_clauses:
        # The window would count rows before DISTINCT or grouping: count them apart.
        items = list(session.scalars(window))
        return Page(items=items, total=_count(session, query), page=page, page_size=page_size)
    rows = session.execute(window.add_columns(func.count().over())).all()
    if not rows:  # past the last page (or nothing at all): no row carried the count
        total = _count(session, query) if page > 1 else 0
        return Page(items=[], total=total, page=page, page_size=page_size)
    return Page(items=[row[0] for row in rows], total=int(rows[0][1]), page=page,
                page_size=page_size)


def _count(session: Session, query: Select[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(
        query.order_by(None).subquery())) or 0)
