"""The plan reconcile against PostgreSQL: idempotent upsert by slug, drift put back, archive."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.db.models import AuditLog, Plan
from services.core.errors import ValidationError
from services.core.usecases.plans import archive_plan, reconcile_plan
from tests.support.factories import NOW, make_plan, make_subscription, make_user

pytestmark = pytest.mark.integration

SPEC = {
    "displayName": "Pro",
    "description": "For teams",
    "price": 990,
    "billingCycle": "monthly",
    "features": ["API", "Reports"],
    "maxUsers": 15,
    "maxStorageGb": 100,
    "popular": True,
    "sortOrder": 20,
    "trialDays": 14,
    "renewal": {"schedule": "0 * * * *", "graceDays": 5},
}


def _plan(session: Session, slug: str) -> Plan:
    session.expire_all()
    return session.scalars(select(Plan).where(Plan.slug == slug)).one()


def test_a_new_plan_becomes_a_row_with_every_field(session: Session) -> None:
    result = reconcile_plan(session, FixedClock(NOW), "pro-monthly", SPEC, 1)
    session.commit()
    plan = _plan(session, "pro-monthly")
    assert result.created and result.plan_id == plan.id
    assert (plan.name, plan.price, plan.billing_cycle) == ("Pro", Decimal(990), "monthly")
    assert plan.features == ["API", "Reports"]
    assert (plan.max_users, plan.max_storage_gb, plan.trial_days) == (15, 100, 14)
    assert (plan.is_active, plan.is_popular, plan.sort_order) == (True, True, 20)
    assert (plan.renewal_schedule, plan.grace_days, plan.source_generation) == ("0 * * * *", 5, 1)
    assert plan.created_at == NOW


def test_reconciling_again_changes_nothing(session: Session) -> None:
    clock = FixedClock(NOW)
    reconcile_plan(session, clock, "pro-monthly", SPEC, 1)
    session.commit()
    clock.advance(timedelta(hours=1))
    again = reconcile_plan(session, clock, "pro-monthly", SPEC, 1)
    session.commit()
    assert again.outcome == "unchanged"
    assert _plan(session, "pro-monthly").updated_at == NOW
    actions = session.scalars(select(AuditLog.action)).all()
    assert actions == ["plan.created"]


def test_a_new_price_and_schedule_update_the_same_row(session: Session) -> None:
    clock = FixedClock(NOW)
    first = reconcile_plan(session, clock, "pro-monthly", SPEC, 1)
    clock.advance(timedelta(minutes=5))
    changed = {**SPEC, "price": 1290, "renewal": {"schedule": "30 2 * * *"}}
    second = reconcile_plan(session, clock, "pro-monthly", changed, 2)
    session.commit()
    plan = _plan(session, "pro-monthly")
    assert second.outcome == "updated" and second.plan_id == first.plan_id
    assert (plan.price, plan.renewal_schedule, plan.source_generation) == (
        Decimal(1290),
        "30 2 * * *",
        2,
    )
    assert plan.updated_at == NOW + timedelta(minutes=5)


def test_a_row_edited_in_the_database_is_put_back(session: Session) -> None:
    clock = FixedClock(NOW)
    reconcile_plan(session, clock, "pro-monthly", SPEC, 1)
    session.execute(update(Plan).where(Plan.slug == "pro-monthly").values(price=1, name="Hacked"))
    session.commit()
    repaired = reconcile_plan(session, clock, "pro-monthly", SPEC, 1)
    session.commit()
    plan = _plan(session, "pro-monthly")
    assert repaired.outcome == "updated"
    assert (plan.price, plan.name) == (Decimal(990), "Pro")


def test_an_invalid_spec_writes_nothing(session: Session) -> None:
    bad = {**SPEC, "active": False, "popular": True, "renewal": {"schedule": "61 * * * *"}}
    with pytest.raises(ValidationError) as info:
        reconcile_plan(session, FixedClock(NOW), "pro-monthly", bad, 1)
    assert set(info.value.errors) == {"popular", "renewal.schedule"}
    assert session.scalars(select(Plan)).all() == []


def test_archiving_keeps_the_row_that_subscriptions_reference(session: Session) -> None:
    reconcile_plan(session, FixedClock(NOW), "pro-monthly", SPEC, 1)
    plan = _plan(session, "pro-monthly")
    subscription = make_subscription(session, make_user(session), plan)
    session.commit()
    assert archive_plan(session, "pro-monthly") is True
    assert archive_plan(session, "pro-monthly") is False  # already archived
    assert archive_plan(session, "never-existed") is False
    session.commit()
    archived = _plan(session, "pro-monthly")
    assert (archived.is_active, archived.is_popular) == (False, False)
    assert subscription.plan_id == archived.id


def test_recreating_an_archived_plan_reactivates_it(session: Session) -> None:
    existing = make_plan(session, slug="pro-monthly", is_active=False)
    session.commit()
    result = reconcile_plan(session, FixedClock(NOW), "pro-monthly", SPEC, 1)
    session.commit()
    assert result.outcome == "updated" and result.plan_id == existing.id
    assert _plan(session, "pro-monthly").is_active is True
