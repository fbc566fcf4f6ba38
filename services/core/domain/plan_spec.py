"""A Plan resource's spec as the billing domain understands it, with the rules the CRD schema
cannot express."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.core.domain.money import CURRENCY
from services.core.domain.periods import BillingCycle
from services.core.domain.plan_text import parse_translations
from services.core.errors import ValidationError

SLUG = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")
_CRON_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
DEFAULT_SCHEDULE = "0 * * * *"
DEFAULT_TIME_ZONE = "Etc/UTC"


@dataclass(frozen=True)
class PlanSpec:
    slug: str
    display_name: str
    price: Decimal
    billing_cycle: BillingCycle
    description: str = ""
    currency: str = CURRENCY
    features: tuple[str, ...] = ()
    max_users: int | None = None
    max_storage_gb: int | None = None
    active: bool = True
    popular: bool = False
    sort_order: int = 0
    trial_days: int = 0
    schedule: str = DEFAULT_SCHEDULE
    grace_days: int = 7
    # The renewal CronJob's own switches: paused (an SRE in an incident) and the zone its
    # schedule is read in. Neither changes the plans row.
    renewal_suspended: bool = False
    renewal_time_zone: str = DEFAULT_TIME_ZONE
    # {"zh-TW": {"name", "description", "features"}}: the plans row's `translations`.
    translations: dict[str, dict[str, Any]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def validate_cron(expression: str) -> None:
    parts = expression.split()
    if len(parts) != 5:
        raise ValueError("a cron schedule has five fields")
    for part, (low, high) in zip(parts, _CRON_BOUNDS, strict=True):
        if not _CRON_FIELD.match(part):
            raise ValueError(f"{part!r} is not a cron field")
        for number in re.findall(r"\d+", part.split("/")[0]):
            if not low <= int(number) <= high:
                raise ValueError(f"{number} is outside {low}-{high}")


def parse_plan_spec(slug: str, spec: dict[str, Any]) -> PlanSpec:
    """Turn a Plan resource's spec into a PlanSpec, or raise ValidationError with every problem."""
    errors: dict[str, list[str]] = {}

    def bad(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if not SLUG.match(slug or ""):
        bad("metadata.name", "must be a DNS label (lower-case letters, digits, '-')")
    price = spec.get("price")
    if not isinstance(price, int) or isinstance(price, bool) or price < 0:
        bad("price", "must be a whole TWD amount ≥ 0")
    cycle = spec.get("billingCycle")
    if cycle not in {c.value for c in BillingCycle}:
        bad("billingCycle", "must be monthly, quarterly or yearly")
    if spec.get("currency", CURRENCY) != CURRENCY:
        bad("currency", "only TWD is supported")
    if not str(spec.get("displayName", "")).strip():
        bad("displayName", "is required")
    features = spec.get("features") or []
    if len(set(features)) != len(features):
        bad("features", "must not repeat")
    renewal = spec.get("renewal") or {}
    schedule = renewal.get("schedule", DEFAULT_SCHEDULE)
    try:
        validate_cron(schedule)
    except ValueError as exc:
        bad("renewal.schedule", str(exc))
    grace = renewal.get("graceDays", 7)
    suspend = renewal.get("suspend", False)
    if not isinstance(suspend, bool):
        bad("renewal.suspend", "must be true or false")
    time_zone = renewal.get("timeZone", DEFAULT_TIME_ZONE)
    if not _known_time_zone(time_zone):
        bad("renewal.timeZone", "must be an IANA time zone such as Asia/Taipei")
    trial = spec.get("trialDays", 0)
    for name, value, high in (("renewal.graceDays", grace, 90), ("trialDays", trial, 365)):
        if not isinstance(value, int) or not 0 <= value <= high:
            bad(name, f"must be an integer from 0 to {high}")
    translations = parse_translations(spec.get("translations"), list(features), bad)
    if spec.get("popular") and spec.get("active") is False:
        bad("popular", "an inactive plan cannot be marked popular")
    if errors:
        raise ValidationError(f"Plan {slug!r} is invalid", errors=errors)
    return PlanSpec(
        slug=slug,
        display_name=str(spec["displayName"]).strip(),
        price=Decimal(price),  # type: ignore[arg-type]
        billing_cycle=BillingCycle(str(cycle)),
        description=spec.get("description", ""),
        features=tuple(features),
        max_users=spec.get("maxUsers"),
        max_storage_gb=spec.get("maxStorageGb"),
        active=bool(spec.get("active", True)),
        popular=bool(spec.get("popular", False)),
        sort_order=int(spec.get("sortOrder", 0)),
        trial_days=trial,
        schedule=schedule,
        grace_days=grace,
        renewal_suspended=suspend,
        renewal_time_zone=time_zone,
        translations=translations,
    )


def _known_time_zone(name: Any) -> bool:
    """An IANA zone name the tz database knows (what CronJob.spec.timeZone accepts)."""
    if not isinstance(name, str) or not name or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
