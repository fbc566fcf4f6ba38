"""A plan's customer-facing words in one language: the Plan resource's translations
(`spec.translations`) checked, stored and read back with the default text as the fallback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The languages customers can choose (the dashboard's and the e-mails'); the plan's own
# displayName/description/features are the default, whatever language they are written in.
LANGUAGES = ("zh-TW", "en")
_LIMITS = {"displayName": 100, "description": 2000}
_FEATURE_MAX = 200
# spec key → the plans row's key (the row says "name", as plans.name does).
_STORED = {"displayName": "name", "description": "description", "features": "features"}


@dataclass(frozen=True)
class PlanText:
    name: str
    description: str
    features: tuple[str, ...]


def localized(
    name: str,
    description: str,
    features: list[str] | tuple[str, ...],
    translations: dict[str, Any] | None,
    language: str | None,
) -> PlanText:
    """The plan's words in `language`, each falling back to the default one by one."""
    entry = (translations or {}).get(language or "") or {}
    translated = entry.get("features") or []
    return PlanText(
        name=str(entry.get("name") or name),
        description=str(entry.get("description") or description),
        features=tuple(str(f) for f in (translated or features)),
    )


def parse_translations(
    raw: Any, default_features: list[str], bad: Any
) -> dict[str, dict[str, Any]]:
    """`spec.translations` as the plans row keeps it; each problem is reported to `bad(field,
    message)`. Translated features must match the default list one for one, so no language
    ever promises less (or more) than another."""
    if raw in (None, {}):
        return {}
    if not isinstance(raw, dict):
        bad("translations", "must be a map of language to texts")
        return {}
    out: dict[str, dict[str, Any]] = {}
    for language, texts in raw.items():
        where = f"translations.{language}"
        if language not in LANGUAGES:
            bad(where, f"unknown language (use one of {', '.join(LANGUAGES)})")
            continue
        if not isinstance(texts, dict):
            bad(where, "must be an object with displayName, description or features")
            continue
        entry = _entry(texts, default_features, where, bad)
        if entry:
            out[language] = entry
    return out


def _entry(
    texts: dict[str, Any], default_features: list[str], where: str, bad: Any
) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    for key in texts:
        if key not in _STORED:
            bad(f"{where}.{key}", "unknown field (displayName, description or features)")
    for key, limit in _LIMITS.items():
        if key not in texts:
            continue
        value = texts[key]
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            bad(f"{where}.{key}", f"must be text of 1 to {limit} characters")
        else:
            entry[_STORED[key]] = value.strip()
    if "features" in texts:
        features = texts["features"]
        if not isinstance(features, list) or not all(
            isinstance(f, str) and f.strip() and len(f) <= _FEATURE_MAX for f in features
        ):
            bad(f"{where}.features", f"must be a list of texts up to {_FEATURE_MAX} characters")
        elif len(features) != len(default_features):
            bad(
                f"{where}.features",
                f"must list {len(default_features)} features, one for each of spec.features",
            )
        elif len(set(features)) != len(features):
            bad(f"{where}.features", "must not repeat")
        else:
            entry["features"] = [f.strip() for f in features]
    return entry


# A billing cycle as the customer reads it after a plan's name.
_CYCLES = {
    "monthly": ("月繳", "Monthly"),
    "quarterly": ("季繳", "Quarterly"),
    "yearly": ("年繳", "Yearly"),
}


def name_with_cycle(name: str, cycle: str, language: str | None) -> str:
    """ "Pro (Monthly)", "專業版（年繳）": the cycle said once, in the customer's language; a name
    that already says it ("Pro (Yearly)") is left alone rather than read "(Yearly) (yearly)"."""
    zh, en = _CYCLES.get(cycle, (cycle, cycle))
    if zh in name or en.casefold() in name.casefold():
        return name
    return f"{name}（{zh}）" if language == "zh-TW" else f"{name} ({en})"
