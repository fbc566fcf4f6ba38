"""Messages of the list pager (fluxus_ui.pager), merged into the main catalog:
key → (zh-TW, en)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "pager.prev": ("上一頁", "Previous page"),
    "pager.next": ("下一頁", "Next page"),
    "pager.of": ("第 {page} 頁，共 {pages} 頁", "Page {page} of {pages}"),
}
