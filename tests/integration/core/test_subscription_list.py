"""The subscription list reads a page, its total and what each row answers with (its newest
card agreement, its newest scheduled plan change) in one statement, on PostgreSQL and on
SQLite (`fluxus dev`): the same answers the model's own properties give, and only the
caller's rows unless the caller is staff."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from services.core.db.models import CardAgreement, Plan, PlanChange, Subscription, User
from services.core.usecases.subscriptions import list_subscriptions
from tests.support.factories import NOW, make_plan, make_subscription, make_user

pytestmark = pytest.mark.integration
DAY = timedelta(days=1)


def _agreement(session: Session, sub: Subscription, n: int, status: str) -> None:
    session.add(CardAgreement(
        subscription_id=sub.id, merchant_trade_no=f"L{sub.id.hex[:12]}{n}", status=status,
        period_type="M", frequency=1, exec_times=12, period_amount=990 + n,
        first_charged_at=NOW, created_at=NOW + n * DAY))


def _change(session: Session, sub: Subscription, plan: Plan, n: int, status: str) -> None:
    session.add(PlanChange(
        subscription_id=sub.id, user_id=sub.user_id, from_plan_id=sub.plan_id,
        to_plan_id=plan.id, policy="end_of_term", status=status, proration_date=NOW,
        effective_at=NOW + (30 + n) * DAY, credit=Decimal(0), charge=Decimal(0),
        net=Decimal(0), new_period_start=NOW, new_period_end=NOW + 30 * DAY, lines={},
        created_at=NOW + n * DAY))


@pytest.fixture
def people(any_session: Session) -> tuple[User, User, User]:
    return make_user(any_session), make_user(any_session), make_user(any_session, is_staff=True)


def _seed(session: Session, owner: User, other: User) -> list[Subscription]:
    plan, basic = make_plan(session), make_plan(session, name="Basic")
    subs = [make_subscription(session, owner, plan, status=status, created_at=NOW + n * DAY)
            for n, status in enumerate(("active", "pending", "active", "cancelled"))]
    make_subscription(session, other, plan, status="active", created_at=NOW)
    for n, status in enumerate(("ended", "active", "cancelling")):
        _agreement(session, subs[0], n, status)
    _agreement(session, subs[1], 0, "cancelled")
    for n, status in enumerate(("scheduled", "applied", "scheduled", "cancelled")):
        _change(session, subs[0], basic, n, status)
    _change(session, subs[2], basic, 0, "cancelled")
    session.commit()
    return subs


def test_each_row_answers_with_what_its_properties_give(
    any_session: Session, people: tuple[User, User, User]
) -> None:
    owner, other, _ = people
    subs = _seed(any_session, owner, other)
    seen: list[str] = []
    event.listen(any_session.get_bind(), "before_cursor_execute",
                 lambda *args: seen.append(args[2]))
    page = list_subscriptions(any_session, owner, page=1, page_size=10)
    assert len(seen) == 1
    assert [row.id for row in page.items] == [s.id for s in reversed(subs)]
    any_session.expire_all()
    for row in page.items:
        sub = any_session.get(Subscription, row.id)
        assert sub is not None
        assert (row.status, row.user_id) == (sub.status, owner.id)
        assert row.card_agreement == sub.card_agreement
        assert row.scheduled_change == sub.scheduled_change
    newest = page.items[-1]
    assert newest.card_agreement is not None and newest.card_agreement.status == "cancelling"
    assert newest.scheduled_change is not None
    assert newest.scheduled_change.effective_at.day == (NOW + 32 * DAY).day
    assert page.items[-2].card_agreement.status == "cancelled"  # type: ignore[union-attr]
    assert page.items[-3].scheduled_change is None  # only a cancelled change
    assert page.items[0].card_agreement is None and page.items[0].scheduled_change is None


def test_pages_filters_and_totals(any_session: Session, people: tuple[User, User, User]) -> None:
    owner, other, staff = people
    subs = _seed(any_session, owner, other)
    first = list_subscriptions(any_session, owner, page=1, page_size=3)
    second = list_subscriptions(any_session, owner, page=2, page_size=3)
    assert (first.total, first.pages, second.total) == (4, 2, 4)
    assert [r.id for r in first.items + second.items] == [s.id for s in reversed(subs)]
    past = list_subscriptions(any_session, owner, page=5, page_size=3)
    assert (past.items, past.total) == ([], 4)
    active = list_subscriptions(any_session, owner, page=1, page_size=10, status="active")
    assert [r.id for r in active.items] == [subs[2].id, subs[0].id] and active.total == 2
    # A customer's user_id is ignored; staff see everyone, or whom they name.
    assert list_subscriptions(any_session, owner, page=1, page_size=10,
                              user_id=other.id).total == 4
    assert list_subscriptions(any_session, other, page=1, page_size=10).total == 1
    assert list_subscriptions(any_session, staff, page=1, page_size=10).total == 5
    named = list_subscriptions(any_session, staff, page=9, page_size=10, user_id=owner.id,
                               status="active")
    assert (named.items, named.total) == ([], 2)
    assert list_subscriptions(any_session, staff, page=1, page_size=10,
                              status="cancelled").total == 1
