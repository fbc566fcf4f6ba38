"""Staff give a customer's subscription a free period: the end date moves with no order and no
charge, the audit trail says who and why, the books stay clean only because of the extension
record, and the next renewal starts from the new end (back onto the anchor day)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import AuditLog, Order, Subscription, SubscriptionExtension
from services.core.domain.periods import TAIPEI
from services.core.ports import RecordingJobs
from services.core.usecases import renewals
from services.core.usecases.books import audit_books
from services.core.usecases.books_findings import Check
from tests.integration.api.api_helpers import Account, assert_envelope
from tests.integration.api.test_api_refunds import paid

pytestmark = pytest.mark.integration


def _paid_subscription(session: Session, settings: Settings, customer: Account,
                       plan: Any) -> Subscription:
    order = session.get_one(Order, paid(session, settings, customer, plan))
    sub = session.get_one(Subscription, order.subscription_id)
    assert sub.status == "active" and sub.end_date == order.period_end
    return sub


def _extend(client: FlaskClient, who: Account, sub_id: Any, body: dict[str, Any],
            key: str | None = None) -> Any:
    headers = who.headers | ({"Idempotency-Key": key} if key else {})
    return client.post(f"/api/subscriptions/{sub_id}/extend/", json=body, headers=headers)


def _checks(session: Session) -> set[str]:
    session.expire_all()
    report = audit_books(session, FixedClock(datetime.now(UTC)))
    return {str(f.check) for f in report.findings}


def test_an_extension_moves_the_end_with_no_order_and_the_books_stay_clean(
    client: FlaskClient, session: Session, settings: Settings, customer: Account,
    staff: Account, plan: Any,
) -> None:
    sub = _paid_subscription(session, settings, customer, plan)
    before, orders_before = sub.end_date, session.scalars(select(Order.id)).all()
    assert before is not None
    assert Check.ACTIVE_WITHOUT_PAID_PERIOD not in _checks(session)

    answer = _extend(client, staff, sub.id, {"days": 10, "reason": "服務中斷補償"}, "ext-1")
    again = _extend(client, staff, sub.id, {"days": 10, "reason": "服務中斷補償"}, "ext-1")

    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert again.get_json()["id"] == body["id"]  # a double click is one free period
    session.expire_all()
    assert session.get_one(Subscription, sub.id).end_date == before + timedelta(days=10)
    assert body["new_end_date"] == (before + timedelta(days=10)).isoformat()
    assert session.scalars(select(Order.id)).all() == orders_before  # nothing to pay
    [row] = session.scalars(select(AuditLog).where(AuditLog.action == "subscription_extended"))
    assert row.user_id == staff.user.id and "服務中斷補償" in row.description
    assert Check.ACTIVE_WITHOUT_PAID_PERIOD not in _checks(session)
    # Without its extension record the same end date is money-less: the books say so.
    session.execute(SubscriptionExtension.__table__.delete())
    session.commit()
    assert Check.ACTIVE_WITHOUT_PAID_PERIOD in _checks(session)


def test_the_next_renewal_starts_at_the_new_end_and_returns_to_the_anchor_day(
    client: FlaskClient, session: Session, settings: Settings, customer: Account,
    staff: Account, plan: Any,
) -> None:
    sub = _paid_subscription(session, settings, customer, plan)
    assert sub.end_date is not None and sub.anchor_date is not None
    old_end, anchor_day = sub.end_date, sub.anchor_date.astimezone(TAIPEI).day
    new_day = (old_end + timedelta(days=12)).astimezone(TAIPEI).date()
    answer = _extend(client, staff, sub.id, {"end_date": new_day.isoformat(),
                                             "reason": "goodwill"})
    assert answer.status_code == 201, answer.get_json()
    session.expire_all()
    new_end = session.get_one(Subscription, sub.id).end_date
    assert new_end is not None and new_end.astimezone(TAIPEI).date() == new_day
    assert new_end.astimezone(TAIPEI).time() == old_end.astimezone(TAIPEI).time()

    clock = FixedClock(new_end - timedelta(days=1))
    dues = renewals.due_batch(session, clock, plan_id=plan.id, after=None, limit=10)
    assert [d.period_start for d in dues] == [new_end]
    renewals.renew_due(session, clock, RecordingJobs(), dues, dashboard_url="https://x.test")
    session.commit()
    order = session.scalars(select(Order).where(Order.subscription_id == sub.id,
                                                Order.period_start == new_end)).one()
    assert order.period_end is not None
    # A short period back onto the anchor day, then whole months again.
    assert order.period_end.astimezone(TAIPEI).day == anchor_day
    assert old_end + timedelta(days=12) < order.period_end <= old_end + timedelta(days=62)


def test_an_open_renewal_order_for_the_old_end_is_closed(
    client: FlaskClient, session: Session, settings: Settings, customer: Account,
    staff: Account, plan: Any,
) -> None:
    sub = _paid_subscription(session, settings, customer, plan)
    assert sub.end_date is not None
    clock = FixedClock(sub.end_date - timedelta(days=2))
    dues = renewals.due_batch(session, clock, plan_id=plan.id, after=None, limit=10)
    renewals.renew_due(session, clock, RecordingJobs(), dues, dashboard_url="https://x.test")
    session.commit()
    renewal = session.scalars(select(Order).where(Order.is_renewal.is_(True))).one()

    assert _extend(client, staff, sub.id, {"days": 7, "reason": "late"}).status_code == 201
    session.expire_all()
    assert session.get_one(Order, renewal.id).status == "cancelled"
    assert Check.ACTIVE_WITHOUT_PAID_PERIOD not in _checks(session)


def test_only_staff_extend_an_active_subscription_within_bounds(
    client: FlaskClient, session: Session, settings: Settings, customer: Account,
    staff: Account, plan: Any,
) -> None:
    sub = _paid_subscription(session, settings, customer, plan)
    assert sub.end_date is not None
    assert_envelope(_extend(client, customer, sub.id, {"days": 3, "reason": "me"}), 403)
    assert_envelope(_extend(client, staff, sub.id, {"days": 3, "end_date": "2030-01-01",
                                                    "reason": "x"}), 422)
    assert_envelope(_extend(client, staff, sub.id, {"days": 3}), 422)
    assert_envelope(_extend(client, staff, sub.id, {"days": 400, "reason": "x"}), 422)
    earlier = (sub.end_date - timedelta(days=1)).astimezone(TAIPEI).date().isoformat()
    assert_envelope(_extend(client, staff, sub.id, {"end_date": earlier, "reason": "x"}), 422)
    sub.status = "cancelled"
    session.commit()
    assert_envelope(_extend(client, staff, sub.id, {"days": 3, "reason": "x"}), 409,
                    "not_extendable")
    nobody = "00000000-0000-0000-0000-000000000000"
    assert_envelope(_extend(client, staff, nobody, {"days": 3, "reason": "x"}), 404)
    assert session.scalars(select(SubscriptionExtension)).all() == []
