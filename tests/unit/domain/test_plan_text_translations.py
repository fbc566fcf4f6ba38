"""Plan translations: the spec's `translations` checked like the rest of the Plan resource,
and a plan's words read in the customer's language with the default as the fallback."""

from __future__ import annotations

from typing import Any

import pytest

from services.core.domain.plan_spec import parse_plan_spec
from services.core.domain.plan_text import localized, name_with_cycle
from services.core.errors import ValidationError

pytestmark = pytest.mark.unit

GOOD: dict[str, Any] = {
    "displayName": "Pro",
    "description": "For teams",
    "price": 990,
    "billingCycle": "monthly",
    "features": ["API", "Reports"],
}
ZH = {"displayName": "專業版", "description": "適合團隊", "features": ["API 存取", "報表"]}


def test_a_translation_is_stored_under_the_rows_names() -> None:
    spec = parse_plan_spec("pro", {**GOOD, "translations": {"zh-TW": ZH}})
    assert spec.translations == {
        "zh-TW": {"name": "專業版", "description": "適合團隊", "features": ["API 存取", "報表"]}
    }


def test_a_plan_without_translations_keeps_an_empty_map() -> None:
    assert parse_plan_spec("pro", GOOD).translations == {}


@pytest.mark.parametrize(
    ("translations", "field"),
    [
        ({"ja": ZH}, "translations.ja"),
        ({"zh-TW": "專業版"}, "translations.zh-TW"),
        ({"zh-TW": {"displayName": ""}}, "translations.zh-TW.displayName"),
        ({"zh-TW": {"displayName": "x" * 101}}, "translations.zh-TW.displayName"),
        ({"zh-TW": {"features": ["只有一項"]}}, "translations.zh-TW.features"),
        ({"zh-TW": {"features": ["同", "同"]}}, "translations.zh-TW.features"),
        ({"zh-TW": {"features": "API, 報表"}}, "translations.zh-TW.features"),
        ({"zh-TW": {"name": "專業版"}}, "translations.zh-TW.name"),
        (["zh-TW"], "translations"),
    ],
)
def test_a_bad_translation_names_its_field(translations: Any, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_plan_spec("pro", {**GOOD, "translations": translations})
    assert field in info.value.errors


def test_the_customers_language_wins_and_each_missing_text_falls_back() -> None:
    stored = {"zh-TW": {"name": "專業版", "features": ["API 存取", "報表"]}}
    zh = localized("Pro", "For teams", ["API", "Reports"], stored, "zh-TW")
    assert (zh.name, zh.description, zh.features) == ("專業版", "For teams", ("API 存取", "報表"))
    en = localized("Pro", "For teams", ["API", "Reports"], stored, "en")
    assert (en.name, en.features) == ("Pro", ("API", "Reports"))
    assert localized("Pro", "", [], None, None).name == "Pro"


@pytest.mark.parametrize(
    ("name", "cycle", "language", "expected"),
    [
        ("Pro (Yearly)", "yearly", "en", "Pro (Yearly)"),
        ("Pro (Yearly)", "yearly", "zh-TW", "Pro (Yearly)"),
        ("專業版（年繳）", "yearly", "zh-TW", "專業版（年繳）"),
        ("Starter", "monthly", "en", "Starter (Monthly)"),
        ("入門版", "monthly", "zh-TW", "入門版（月繳）"),
    ],
)
def test_the_item_name_says_the_cycle_once(
    name: str, cycle: str, language: str, expected: str
) -> None:
    assert name_with_cycle(name, cycle, language) == expected


def test_every_sample_plan_is_translated_to_zh_tw() -> None:
    from pathlib import Path

    import yaml

    samples = sorted((Path(__file__).parents[3] / "k8s" / "samples").glob("*.yaml"))
    assert samples
    for path in samples:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        spec = parse_plan_spec(doc["metadata"]["name"], doc["spec"])
        zh = spec.translations["zh-TW"]
        assert zh["name"] != spec.display_name
        assert len(zh["features"]) == len(spec.features), path.name
