"""Plans and subscriptions over HTTP: public plans, subscribing, trials, cancelling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.db.models import AuditLog, Plan, Subscription
from tests.integration.api.api_helpers import Account, assert_envelope
from tests.support.factories import make_plan, make_subscription

pytestmark = pytest.mark.integration


def _subscribe(client: FlaskClient, account: Account, plan: Plan, **body: Any) -> Any:
    return client.post("/api/subscriptions/", headers=account.headers,
                       json={"plan_id": str(plan.id), **body})


def test_plans_are_public_active_and_in_display_order(client: FlaskClient,
                                                      session: Session) -> None:
    make_plan(session, name="Enterprise", sort_order=3)
    starter = make_plan(session, name="Starter", sort_order=1)
    make_plan(session, name="Pro", sort_order=2)
    hidden = make_plan(session, name="Legacy", sort_order=0, is_active=False)
    session.commit()

    body = client.get("/api/plans/").get_json()
    assert [p["name"] for p in body["results"]] == ["Starter", "Pro", "Enterprise"]
    assert body["total"] == 3 and body["results"][0]["price"] == "990"
    assert client.get("/api/plans/?page_size=1&page=3").get_json()["results"][0]["name"] == \
        "Enterprise"
    assert client.get(f"/api/plans/{starter.id}/").get_json()["slug"] == starter.slug
    assert_envelope(client.get(f"/api/plans/{hidden.id}/"), 404)
    assert_envelope(client.post("/api/plans/", json={}), 405, "method_not_allowed")


def test_subscribe_starts_pending_and_is_audited(client: FlaskClient, session: Session,
                                                 customer: Account, plan: Plan) -> None:
    response = _subscribe(client, customer, plan, auto_renew=False)
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "pending" and body["auto_renew"] is False
    assert body["user_id"] == customer.id and body["trial_end_date"] is None
    row = session.scalars(select(AuditLog).where(AuditLog.action == "subscription_create")).one()
    assert row.resource_id == body["id"] and row.ip_address == "127.0.0.1"


def test_a_plan_with_trial_days_starts_a_trial(client: FlaskClient, session: Session,
                                               customer: Account) -> None:
    plan = make_plan(session, trial_days=14)
    session.commit()
    before = datetime.now(UTC)
    body = _subscribe(client, customer, plan).get_json()
    assert body["status"] == "trial"
    trial_end = datetime.fromisoformat(body["trial_end_date"])
    assert before + timedelta(days=14) <= trial_end <= datetime.now(UTC) + timedelta(days=14)


def test_a_second_live_subscription_to_the_same_plan_is_a_conflict(
    client: FlaskClient, session: Session, customer: Account, plan: Plan
) -> None:
    assert _subscribe(client, customer, plan).status_code == 201
    assert_envelope(_subscribe(client, customer, plan), 409, "already_subscribed")
    other = make_plan(session)
    session.commit()
    assert _subscribe(client, customer, other).status_code == 201


def test_subscribe_refuses_unknown_plans_and_bad_bodies(client: FlaskClient,
                                                         customer: Account) -> None:
    unknown = client.post("/api/subscriptions/", headers=customer.headers,
                          json={"plan_id": "00000000-0000-0000-0000-000000000000"})
    assert "plan_id" in assert_envelope(unknown, 422)["errors"]
    assert_envelope(client.post("/api/subscriptions/", headers=customer.headers,
                                json={"plan_id": "not-a-uuid"}), 422)
    assert_envelope(client.post("/api/subscriptions/", json={"plan_id": "x"}), 401)


def test_customers_see_only_their_subscriptions_staff_see_all(
    client: FlaskClient, customer: Account, other_customer: Account, staff: Account,
    plan: Plan
) -> None:
    mine = _subscribe(client, customer, plan).get_json()
    theirs = _subscribe(client, other_customer, plan).get_json()

    listed = client.get("/api/subscriptions/", headers=customer.headers).get_json()
    assert [s["id"] for s in listed["results"]] == [mine["id"]] and listed["total"] == 1
    # A customer's user_id filter cannot widen the view.
    sneaky = client.get(f"/api/subscriptions/?user_id={other_customer.id}",
                        headers=customer.headers).get_json()
    assert [s["id"] for s in sneaky["results"]] == [mine["id"]]
    assert_envelope(client.get(f"/api/subscriptions/{theirs['id']}/",
                               headers=customer.headers), 404)
    assert_envelope(client.patch(f"/api/subscriptions/{theirs['id']}/update_status/",
                                 headers=customer.headers, json={"status": "cancelled"}), 404)

    everyone = client.get("/api/subscriptions/", headers=staff.headers).get_json()
    assert everyone["total"] == 2
    filtered = client.get(f"/api/subscriptions/?user_id={other_customer.id}&status=pending",
                          headers=staff.headers).get_json()
    assert [s["id"] for s in filtered["results"]] == [theirs["id"]]
    assert client.get(f"/api/subscriptions/{theirs['id']}/",
                      headers=staff.headers).status_code == 200


def test_customer_cancels_now(client: FlaskClient, session: Session, customer: Account,
                              plan: Plan) -> None:
    sub = _subscribe(client, customer, plan).get_json()
    response = client.patch(f"/api/subscriptions/{sub['id']}/update_status/",
                            headers=customer.headers, json={"status": "cancelled"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "cancelled" and body["cancelled_at"] and body["auto_renew"] is False
    row = session.scalars(select(AuditLog).where(
        AuditLog.action == "subscription_status_change")).one()
    assert row.meta["from"] == "pending" and row.meta["to"] == "cancelled"
    # Cancelled frees the plan for a new subscription.
    assert _subscribe(client, customer, plan).status_code == 201


def test_customer_cancels_at_period_end_and_stays_active(
    client: FlaskClient, session: Session, customer: Account, plan: Plan
) -> None:
    now = datetime.now(UTC)
    sub = make_subscription(session, customer.user, plan, status="active", anchor_date=now,
                            start_date=now, end_date=now + timedelta(days=30))
    session.commit()
    response = client.patch(f"/api/subscriptions/{sub.id}/update_status/",
                            headers=customer.headers,
                            json={"status": "cancelled", "at_period_end": True})
    body = response.get_json()
    assert response.status_code == 200
    assert body["status"] == "active" and body["cancel_at_period_end"] is True
    assert body["auto_renew"] is False and body["cancelled_at"] is None


def test_auto_renew_turns_off_and_back_on_which_withdraws_a_cancellation(
    client: FlaskClient, session: Session, customer: Account, other_customer: Account,
    plan: Plan
) -> None:
    now = datetime.now(UTC)
    sub = make_subscription(session, customer.user, plan, status="active", anchor_date=now,
                            start_date=now, end_date=now + timedelta(days=30))
    session.commit()
    url = f"/api/subscriptions/{sub.id}/"
    off = client.patch(url, headers=customer.headers, json={"auto_renew": False})
    assert off.status_code == 200 and off.get_json()["auto_renew"] is False
    client.patch(f"{url}update_status/", headers=customer.headers,
                 json={"status": "cancelled", "at_period_end": True})

    on = client.patch(url, headers=customer.headers, json={"auto_renew": True}).get_json()
    assert on["auto_renew"] is True and on["cancel_at_period_end"] is False
    assert on["status"] == "active"
    changes = session.scalars(select(AuditLog.meta).where(
        AuditLog.action == "subscription_update")).all()
    assert [c["auto_renew"] for c in changes] == [False, True]

    assert_envelope(client.patch(url, headers=other_customer.headers,
                                 json={"auto_renew": False}), 404)
    assert_envelope(client.patch(url, headers=customer.headers, json={"auto_renew": "maybe"}),
                    422)
    assert_envelope(client.patch(url, headers=customer.headers, json={"status": "active"}), 422)


def test_an_ended_subscription_cannot_turn_auto_renew_on(
    client: FlaskClient, session: Session, customer: Account, plan: Plan
) -> None:
    sub = make_subscription(session, customer.user, plan, status="expired")
    session.commit()
    assert_envelope(client.patch(f"/api/subscriptions/{sub.id}/", headers=customer.headers,
                                 json={"auto_renew": True}), 409, "not_renewable")


def test_customers_may_only_cancel_staff_follow_the_state_machine(
    client: FlaskClient, session: Session, customer: Account, staff: Account, plan: Plan
) -> None:
    sub = _subscribe(client, customer, plan).get_json()
    url = f"/api/subscriptions/{sub['id']}/update_status/"
    assert_envelope(client.patch(url, headers=customer.headers, json={"status": "active"}),
                    409, "invalid_transition")
    assert client.patch(url, headers=staff.headers, json={"status": "active"}).status_code == 200
    assert client.patch(url, headers=staff.headers,
                        json={"status": "expired"}).get_json()["status"] == "expired"
    assert_envelope(client.patch(url, headers=staff.headers, json={"status": "active"}), 409,
                    "invalid_transition")
    assert_envelope(client.patch(url, headers=staff.headers, json={"status": "paused"}), 422)
    session.expire_all()
    assert session.get(Subscription, sub["id"]).status == "expired"  # type: ignore[union-attr]


def test_staff_cannot_make_a_trial_past_due_only_the_trial_sweep_does(
    client: FlaskClient, session: Session, staff: Account, customer: Account, plan: Plan
) -> None:
    sub = make_subscription(session, customer.user, plan, status="trial",
                            trial_end_date=datetime.now(UTC) + timedelta(days=7))
    session.commit()
    response = client.patch(f"/api/subscriptions/{sub.id}/update_status/",
                            headers=staff.headers, json={"status": "past_due"})
    assert response.status_code == 409, response.get_json()
    session.expire_all()
    assert session.get_one(Subscription, sub.id).status == "trial"
