"""Plan specs: the rules a CRD schema cannot express."""

from decimal import Decimal

import pytest

from services.core.domain.periods import BillingCycle
from services.core.domain.plan_spec import parse_plan_spec, validate_cron
from services.core.errors import ValidationError

pytestmark = pytest.mark.unit

GOOD = {"displayName": "Pro", "price": 990, "billingCycle": "monthly", "features": ["API"]}


def test_a_good_spec_is_parsed_with_defaults() -> None:
    spec = parse_plan_spec("pro-monthly", GOOD)
    assert spec.price == Decimal(990)
    assert spec.billing_cycle is BillingCycle.MONTHLY
    assert spec.schedule == "0 * * * *"
    assert spec.grace_days == 7


@pytest.mark.parametrize(
    ("slug", "change", "field"),
    [
        ("Pro_Plan", {}, "metadata.name"),
        ("pro", {"price": -1}, "price"),
        ("pro", {"price": 9.5}, "price"),
        ("pro", {"billingCycle": "weekly"}, "billingCycle"),
        ("pro", {"currency": "USD"}, "currency"),
        ("pro", {"features": ["a", "a"]}, "features"),
        ("pro", {"renewal": {"schedule": "every hour"}}, "renewal.schedule"),
        ("pro", {"renewal": {"schedule": "99 * * * *"}}, "renewal.schedule"),
        ("pro", {"trialDays": 400}, "trialDays"),
        ("pro", {"active": False, "popular": True}, "popular"),
    ],
)
def test_invalid_specs_name_the_field(slug: str, change: dict, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_plan_spec(slug, {**GOOD, **change})
    assert field in info.value.errors


@pytest.mark.parametrize("expr", ["0 * * * *", "*/15 2-4 1,15 * 1-5", "0 0 1 1 0"])
def test_valid_cron_expressions(expr: str) -> None:
    validate_cron(expr)
