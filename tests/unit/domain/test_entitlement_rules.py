"""Entitlements as a pure rule: which subscription states grant access, why, until when, and
how several plans combine."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.core.domain.entitlements import Reason, SubscriptionFacts, entitlements, grant

NOW = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
DAY = timedelta(days=1)
BASE = SubscriptionFacts(
    subscription_id="s1", status="active", plan_slug="pro", plan_name="Pro",
    features=("api", "reports"), max_users=10, max_storage_gb=100, grace_days=7,
    end_date=NOW + 10 * DAY, trial_end_date=None, auto_renew=True, cancel_at_period_end=False,
)


def facts(**changes: object) -> SubscriptionFacts:
    return replace(BASE, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(("changes", "expected"), [
    ({"status": "pending", "end_date": None}, None),
    ({"status": "trial", "end_date": None, "trial_end_date": NOW + 3 * DAY},
     (Reason.TRIAL, NOW + 3 * DAY)),
    # ended unpaid yesterday: the plan's grace days to pay, whether or not the sweep has run
    ({"status": "trial", "end_date": None, "trial_end_date": NOW - DAY},
     (Reason.GRACE, NOW + 6 * DAY)),
    ({"status": "past_due", "end_date": NOW - DAY, "trial_end_date": NOW - DAY},
     (Reason.GRACE, NOW + 6 * DAY)),
    ({"status": "trial", "end_date": None, "trial_end_date": NOW - DAY, "auto_renew": False},
     None),
    # paid during the trial: the first period follows it
    ({"status": "trial", "trial_end_date": NOW + 3 * DAY, "end_date": NOW + 33 * DAY},
     (Reason.TRIAL, NOW + 33 * DAY)),
    ({"status": "active"}, (Reason.PAID, NOW + 10 * DAY)),
    ({"status": "active", "cancel_at_period_end": True, "auto_renew": False},
     (Reason.CANCELLING, NOW + 10 * DAY)),
    ({"status": "active", "auto_renew": False}, (Reason.CANCELLING, NOW + 10 * DAY)),
    ({"status": "past_due", "end_date": NOW - 2 * DAY}, (Reason.GRACE, NOW + 5 * DAY)),
    ({"status": "past_due", "end_date": NOW - 7 * DAY}, None),
    ({"status": "past_due", "end_date": NOW - 8 * DAY}, None),
    ({"status": "cancelled"}, None),
    ({"status": "expired", "end_date": NOW - 40 * DAY}, None),
], ids=["pending", "trial", "trial-ended-unpaid", "trial-ended-unpaid-swept",
        "trial-ended-unpaid-not-renewing", "trial-paid-early", "active-paid",
        "cancel-at-period-end", "auto-renew-off", "past-due-in-grace", "grace-ends-now",
        "past-due-after-grace", "cancelled-now", "expired"])
def test_each_state_grants_what_the_customer_has_paid_for(
        changes: dict[str, object], expected: tuple[Reason, datetime] | None) -> None:
    assert grant(facts(**changes), NOW) == expected


def test_a_lapsed_active_subscription_is_in_grace_before_dunning_runs() -> None:
    assert grant(facts(end_date=NOW - DAY), NOW) == (Reason.GRACE, NOW + 6 * DAY)
    # ...unless it was not going to renew: then access ended with the period.
    assert grant(facts(end_date=NOW - DAY, cancel_at_period_end=True), NOW) is None


def test_a_trial_paid_early_is_paid_once_the_trial_is_over() -> None:
    sub = facts(status="trial", trial_end_date=NOW - DAY, end_date=NOW + 29 * DAY)
    assert grant(sub, NOW) == (Reason.PAID, NOW + 29 * DAY)


def test_several_plans_combine_features_limits_and_the_latest_end() -> None:
    pro = facts(subscription_id="a", plan_slug="pro", features=("api", "reports"),
                max_users=10, max_storage_gb=100, end_date=NOW + 10 * DAY)
    storage = facts(subscription_id="b", plan_slug="storage-addon", plan_name="Storage",
                    features=("archive", "api"), max_users=2, max_storage_gb=1000,
                    status="past_due", end_date=NOW - DAY)
    lapsed = facts(subscription_id="c", plan_slug="team", features=("sso",), max_users=None,
                   status="expired", end_date=NOW - 30 * DAY)
    result = entitlements([lapsed, storage, pro], NOW)
    assert [(p.slug, p.reason) for p in result.plans] == [
        ("pro", Reason.PAID), ("storage-addon", Reason.GRACE)]
    assert result.features == ("api", "archive", "reports")
    assert (result.max_users, result.max_storage_gb) == (10, 1000)
    assert result.until == NOW + 10 * DAY
    assert result.active


def test_an_unlimited_plan_makes_the_limit_unlimited() -> None:
    result = entitlements([facts(max_users=None), facts(subscription_id="x", max_users=50)],
                          NOW)
    assert result.max_users is None and result.max_storage_gb == 100


def test_no_granting_plan_means_nothing_to_use() -> None:
    result = entitlements([facts(status="pending"), facts(status="cancelled")], NOW)
    assert not result.active
    assert (result.plans, result.features) == ((), ())
    # 0, not None: a SaaS reading null as "unlimited" must not unlock anything.
    assert (result.max_users, result.max_storage_gb, result.until) == (0, 0, None)
