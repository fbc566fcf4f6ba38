"""The one pager every staff list and the customer search use: how many pages, which buttons
show, what "page X of Y" says, and that a button asks for the right page."""

from __future__ import annotations

from typing import Any

import panel as pn
import pytest
from fluxus_ui.i18n import translate
from fluxus_ui.pager import page_state, pager

pytestmark = pytest.mark.unit


def _en(key: str, **values: object) -> str:
    return translate(key, "en", **values)


def _buttons(row: pn.Row) -> dict[str, pn.widgets.Button]:
    return {b.css_classes[0]: b for b in row.objects if isinstance(b, pn.widgets.Button)}


def _text(row: pn.Row) -> str:
    return " ".join(str(o.object) for o in row.objects if isinstance(o, pn.pane.HTML))


@pytest.mark.parametrize(("total", "size", "pages"), [
    (0, 100, 1), (1, 100, 1), (100, 100, 1), (101, 100, 2), (250, 100, 3), (41, 20, 3)])
def test_page_count_comes_from_the_total_and_the_page_size(total: int, size: int,
                                                           pages: int) -> None:
    assert page_state(1, total, size).pages == pages


def test_no_rows_is_one_empty_page_without_buttons() -> None:
    row = pager(_en, 1, 0, 100, lambda _n: None, "audit")
    assert _buttons(row) == {}
    assert "Page 1 of 1" in _text(row)


def test_first_page_offers_only_next_and_next_asks_for_page_two() -> None:
    asked: list[int] = []
    row = pager(_en, 1, 101, 100, asked.append, "audit")
    buttons = _buttons(row)
    assert list(buttons) == ["fx-audit-next"]
    assert "Page 1 of 2" in _text(row)
    buttons["fx-audit-next"].clicks += 1
    assert asked == [2]


def test_last_page_offers_only_previous() -> None:
    asked: list[int] = []
    row = pager(_en, 3, 250, 100, asked.append, "queue")
    buttons = _buttons(row)
    assert list(buttons) == ["fx-queue-prev"]
    buttons["fx-queue-prev"].clicks += 1
    assert asked == [2]


def test_middle_page_offers_both_and_a_page_past_the_end_is_clamped() -> None:
    assert list(_buttons(pager(_en, 2, 250, 100, lambda _n: None, "x"))) == [
        "fx-x-prev", "fx-x-next"]
    state = page_state(9, 250, 100)
    assert (state.page, state.has_next, state.has_prev) == (3, False, True)


def test_chinese_says_page_x_of_y() -> None:
    row = pager(lambda k, **v: translate(k, **v), 2, 250, 100, lambda _n: None, "x")
    assert "第 2 頁，共 3 頁" in _text(row)
    labels: list[Any] = [b.name for b in _buttons(row).values()]
    assert labels == ["上一頁", "下一頁"]
