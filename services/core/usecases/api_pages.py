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
    """Run `query` (already ordered) for one page and count all its rows."""
    page = max(page, 1)
    page_size = min(max(page_size, 1), MAX_PAGE_SIZE)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = list(session.scalars(query.limit(page_size).offset((page - 1) * page_size)))
    return Page(items=items, total=int(total or 0), page=page, page_size=page_size)
