"""The public plan list, served from each API process's memory.

The list is the API's hottest read and changes only when a Plan resource does. Each process
reads the active plans again at most once per `FLUXUS_PLAN_LIST_CACHE_SECONDS` and renders each
page once per change of the list, so most requests touch neither PostgreSQL nor the serializer.
A change therefore shows within that many seconds in every process; an order always prices
from the database, never from this list.

Each page carries an ETag (a digest of its bytes): a client that sends it back in
`If-None-Match` gets 304 and no body.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from services.api.resources.common import page_body
from services.core.usecases.api_pages import Page

# Pages past the end are all the same empty page; a cap keeps a client walking page numbers
# from growing the cache without bound.
MAX_CACHED_PAGES = 256

PlanRows = list[dict[str, Any]]


@dataclass(frozen=True)
class RenderedPage:
    body: bytes
    etag: str  # unquoted; the response quotes it


@dataclass
class _Snapshot:
    plans: PlanRows
    read_at: float
    pages: dict[tuple[int, int], RenderedPage] = field(default_factory=dict)


class PlanListCache:
    """One process's copy of the active plans (already dumped by the schema) and their pages.

    `read_plans` reads the active plans in display order as JSON-ready dicts; `render` turns
    one page document into the response's bytes. Both run only when the copy is older than
    `max_age` seconds (read) or a page has not been asked for since the list last changed.
    """

    def __init__(self, max_age: float, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.max_age = max_age
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None

    def page(self, read_plans: Callable[[], PlanRows], render: Callable[[dict[str, Any]], bytes],
             *, page: int, page_size: int) -> RenderedPage:
        snapshot = self._current(read_plans)
        rendered = snapshot.pages.get((page, page_size))
        if rendered is None:
            rendered = _render(snapshot.plans, render, page, page_size)
            if len(snapshot.pages) < MAX_CACHED_PAGES:
                snapshot.pages[(page, page_size)] = rendered
        return rendered

    def _current(self, read_plans: Callable[[], PlanRows]) -> _Snapshot:
        snapshot = self._snapshot
        if snapshot is not None and self._monotonic() - snapshot.read_at < self.max_age:
            return snapshot
        with self._lock:  # one reader per process when the copy goes stale, not one per thread
            snapshot = self._snapshot
            now = self._monotonic()
            if snapshot is not None and now - snapshot.read_at < self.max_age:
                return snapshot
            plans = read_plans()
            if snapshot is not None and plans == snapshot.plans:
                # Unchanged: keep the rendered pages (and so their ETags' bytes).
                snapshot = _Snapshot(snapshot.plans, now, snapshot.pages)
            else:
                snapshot = _Snapshot(plans, now)
            self._snapshot = snapshot
            return snapshot


def _render(plans: PlanRows, render: Callable[[dict[str, Any]], bytes], page: int,
            page_size: int) -> RenderedPage:
    start = (page - 1) * page_size
    body = render(page_body(Page(items=plans[start:start + page_size], total=len(plans),
                                 page=page, page_size=page_size)))
    return RenderedPage(body, hashlib.sha256(body).hexdigest()[:32])
