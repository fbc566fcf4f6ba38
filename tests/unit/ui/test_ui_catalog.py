"""Every message the dashboard shows exists in both languages, and money/dates read right."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import fluxus_ui
import pytest
from fluxus_ui.i18n import catalog_keys, date, money, translate

pytestmark = pytest.mark.unit

KEY = re.compile(r"""\bt\(\s*f?["']([a-z_]+\.[a-z_.{}]+)["']""")


def test_every_literal_message_key_in_the_ui_is_in_the_catalog() -> None:
    keys = set(catalog_keys())
    used: set[str] = set()
    for source in Path(fluxus_ui.__file__).parent.rglob("*.py"):
        used.update(k for k in KEY.findall(source.read_text(encoding="utf-8")) if "{" not in k)
    assert used, "the pattern found no keys: the test would prove nothing"
    assert sorted(used - keys) == []


def test_chinese_is_the_default_and_english_is_available() -> None:
    assert translate("nav.plans") == "方案"
    assert translate("nav.plans", "en") == "Plans"
    assert translate("plans.trial", "en", days=14) == "14-day free trial"


def test_money_is_whole_new_taiwan_dollars_and_dates_are_taipei() -> None:
    assert money(Decimal("1990.00")) == "NT$1,990"
    assert date(datetime(2026, 1, 31, 16, 30, tzinfo=UTC)) == "2026-02-01"


# Words a Taiwanese reader sees in English on purpose: the product's name, a date pattern to
# type, an environment variable, a program's name, a URL scheme.
ENGLISH_ON_PURPOSE = {"Fluxus", "YYYY", "FLUXUS", "TEST", "CLOCKS", "Excel", "https"}


def test_no_english_is_left_in_the_chinese_catalog() -> None:
    word = re.compile(r"[A-Za-z]{4,}")
    left = {}
    for key in catalog_keys():
        zh = re.sub(r"\{[^}]*\}", "", translate(key, "zh-TW"))  # placeholders are not text
        words = set(word.findall(zh)) - ENGLISH_ON_PURPOSE
        if words:
            left[key] = sorted(words)
    assert left == {}
    assert translate("nav.plans", "zh-TW") != translate("nav.plans", "en")
