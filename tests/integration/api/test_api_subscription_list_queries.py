"""GET /api/subscriptions/ loads what each listed subscription answers with (its newest card
agreement, its scheduled plan change) together with the page: a request runs two statements
(the caller with the token's revocation, then the page with its total and what each row
answers with), however many subscriptions are on it, for a customer or staff."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from services.core.config import Settings
from services.core.db.models import CardAgreement, Plan, PlanChange, Subscription
from tests.integration.api.api_helpers import Account, statements
from tests.support.factories import NOW, make_plan, make_subscription

pytestmark = pytest.mark.integration
DAY = timedelta(days=1)


def _subscriptions(session: Session, account: Account, plan: Plan, other: Plan,
                   count: int) -> list[Subscription]:
    """`count` active subscriptions, each with two card agreements (the second the newest)
    and a cancelled and a scheduled plan change."""
    made = []
    for _ in range(count):
        sub = make_subscription(session, account.user, plan, status="active",
                                start_date=NOW, end_date=NOW + 30 * DAY,
                                payment_method="credit_card")
        for n, status in enumerate(("ended", "active")):
            session.add(CardAgreement(
                subscription_id=sub.id, merchant_trade_no=f"A{sub.id.hex[:12]}{n}",
                status=status, period_type="M", frequency=1, exec_times=12,
                period_amount=990 + n, first_charged_at=NOW, created_at=NOW + n * DAY))
        for n, status in enumerate(("cancelled", "scheduled")):
            session.add(PlanChange(
                subscription_id=sub.id, user_id=account.user.id, from_plan_id=plan.id,
                to_plan_id=other.id, policy="end_of_term", status=status,
                proration_date=NOW, effective_at=NOW + (30 + n) * DAY, credit=Decimal(0),
                charge=Decimal(0), net=Decimal(0), new_period_start=NOW + 30 * DAY,
                new_period_end=NOW + 60 * DAY, lines={}, created_at=NOW + n * DAY))
        made.append(sub)
    session.commit()
    return made


def _list(client: FlaskClient, settings: Settings, headers: dict[str, str],
          query: str = "") -> tuple[dict[str, Any], list[str]]:
    with statements(settings) as seen:
        response = client.get(f"/api/subscriptions/?page_size=50{query}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json(), list(seen)


def test_the_list_runs_as_many_statements_for_ten_subscriptions_as_for_two(
    client: FlaskClient, session: Session, settings: Settings, customer: Account,
    staff: Account, plan: Plan,
) -> None:
    other = make_plan(session, name="Basic", price=Decimal(490), sort_order=2)
    subs = _subscriptions(session, customer, plan, other, 2)
    client.get("/api/subscriptions/", headers=customer.headers)  # warm up the engine
    staff_query = f"&user_id={customer.id}"

    two, two_seen = _list(client, settings, customer.headers)
    staff_two, staff_two_seen = _list(client, settings, staff.headers, staff_query)
    subs += _subscriptions(session, customer, plan, other, 8)
    ten, ten_seen = _list(client, settings, customer.headers)
    staff_ten, staff_ten_seen = _list(client, settings, staff.headers, staff_query)

    assert (two["total"], ten["total"], staff_ten["total"]) == (2, 10, 10)
    assert len(two_seen) == 2, two_seen
    assert len(ten_seen) == len(two_seen), (two_seen, ten_seen)
    assert len(staff_ten_seen) == len(staff_two_seen), (staff_two_seen, staff_ten_seen)
    assert staff_ten == ten and staff_two == two
    # Still the newest agreement and the change still waiting, for every subscription.
    for row in ten["results"]:
        assert row["card_agreement"]["status"] == "active"
        assert row["card_agreement"]["period_amount"] == 991
        assert row["scheduled_change"]["to_plan_id"] == str(other.id)
        assert row["scheduled_change"]["effective_at"] == (NOW + 31 * DAY).isoformat()
    assert {row["id"] for row in ten["results"]} == {str(s.id) for s in subs}


def test_filters_pages_and_the_total_past_the_last_page_keep_their_values(
    client: FlaskClient, session: Session, settings: Settings, customer: Account,
    other_customer: Account, staff: Account, plan: Plan,
) -> None:
    """The page's statement is built once per shape of filter: each request's own values
    (owner, status, page) are the ones applied, never a previous request's."""
    other = make_plan(session, name="Basic", price=Decimal(490), sort_order=2)
    mine = _subscriptions(session, customer, plan, other, 3)
    theirs = _subscriptions(session, other_customer, plan, other, 2)
    mine[0].status = "cancelled"
    session.commit()

    def ids(body: dict[str, Any]) -> set[str]:
        return {row["id"] for row in body["results"]}

    own, _ = _list(client, settings, customer.headers)
    their_own, _ = _list(client, settings, other_customer.headers)
    assert ids(own) == {str(s.id) for s in mine} and ids(their_own) == {str(s.id) for s in theirs}
    # A customer's user_id filter is ignored: still only their own.
    assert ids(_list(client, settings, customer.headers, f"&user_id={other_customer.id}")[0]) \
        == ids(own)
    active, _ = _list(client, settings, customer.headers, "&status=active")
    assert ids(active) == {str(s.id) for s in mine[1:]} and active["total"] == 2
    staff_theirs, _ = _list(client, settings, staff.headers, f"&user_id={other_customer.id}")
    assert ids(staff_theirs) == ids(their_own)
    everyone, _ = _list(client, settings, staff.headers, "&status=active")
    assert everyone["total"] == 4
    for headers, query, total in ((customer.headers, "", 3),
                                  (staff.headers, f"&user_id={other_customer.id}", 2),
                                  (customer.headers, "&status=active", 2)):
        response = client.get(f"/api/subscriptions/?page=7&page_size=2{query}", headers=headers)
        body = response.get_json()
        assert (body["results"], body["total"], body["page"]) == ([], total, 7), query
    pages = [client.get(f"/api/subscriptions/?page={n}&page_size=2", headers=customer.headers)
             .get_json()["results"] for n in (1, 2)]
    assert [row["id"] for page in pages for row in page] == [row["id"] for row in own["results"]]
