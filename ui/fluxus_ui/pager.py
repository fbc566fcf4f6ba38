"""One pager for every paged list of the dashboard: "previous"/"next" and "page X of Y" over
the API's own pages (the API answers `total` and caps `page_size` at 100), so a list longer
than one page is never cut off silently."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import panel as pn

from fluxus_ui.template import button, esc, html_pane

# The API's largest page (services/api/resources/common.py page_schema).
PAGE_SIZE = 100


@dataclass(frozen=True)
class PageState:
    page: int  # the page shown, clamped to 1..pages
    pages: int  # at least 1: an empty list is one empty page
    has_prev: bool
    has_next: bool


def page_state(page: int, total: int, size: int) -> PageState:
    pages = max(1, -(-max(total, 0) // max(size, 1)))
    page = min(max(page, 1), pages)
    return PageState(page, pages, page > 1, page < pages)


def pager(t: Callable[..., str], page: int, total: int, size: int,
          go: Callable[[int], Any], name: str) -> pn.Row:
    """Previous/next buttons (only where there is a page to go to) and "page X of Y";
    `go(n)` shows page n, keeping whatever filters the caller holds. Buttons are named
    fx-<name>-prev / fx-<name>-next for the journeys."""
    state = page_state(page, total, size)
    parts: list[Any] = []
    if state.has_prev:
        parts.append(button(t("pager.prev"), lambda _e: go(state.page - 1), "light",
                            name=f"{name}-prev"))
    parts.append(html_pane(
        f"<span class='muted'>{esc(t('pager.of', page=state.page, pages=state.pages))}</span>",
        css_classes=[f"fx-{name}-page"]))
    if state.has_next:
        parts.append(button(t("pager.next"), lambda _e: go(state.page + 1), "light",
                            name=f"{name}-next"))
    return pn.Row(*parts, align="center", css_classes=[f"fx-{name}-pager"])
