"""The payment review queue over HTTP: staff list, filter, read and resolve parked money."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.db.models import AuditLog, PaymentReview, User
from services.core.db.session import session_factory
from services.core.errors import Conflict
from services.core.usecases.audit import Actor
from services.core.usecases.payments import review_queue
from services.core.usecases.payments.reviews import ReviewReason, park
from tests.integration.api.api_helpers import Account, assert_envelope
from tests.support.factories import make_order, make_subscription

pytestmark = pytest.mark.integration

ARRIVED = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)


def _park(
    session: Session,
    reason: ReviewReason = ReviewReason.DUPLICATE_PAYMENT,
    *,
    hours: int = 0,
    **fields: Any,
) -> uuid.UUID:
    review_id = park(
        session,
        source_key=f"test:{uuid.uuid4()}",
        reason=reason,
        arrived_at=ARRIVED + timedelta(hours=hours),
        detail=fields.pop("detail", f"parked for {reason}"),
        **fields,
    )
    session.commit()
    return review_id


@pytest.fixture
def items(session: Session, customer: Account, plan: Any) -> dict[str, Any]:
    """A duplicate payment of the customer's order, an unknown order, a closed subscription."""
    sub = make_subscription(session, customer.user, plan)
    order = make_order(session, sub, status="completed", paid_at=ARRIVED)
    session.commit()
    return {
        "order": order,
        "duplicate": _park(
            session,
            ReviewReason.DUPLICATE_PAYMENT,
            hours=2,
            amount=990,
            merchant_trade_no=order.order_number,
            gateway_trade_no="2703011200001",
            order_id=order.id,
            subscription_id=sub.id,
        ),
        "unknown": _park(
            session,
            ReviewReason.UNKNOWN_ORDER,
            hours=0,
            amount=500,
            merchant_trade_no="FXNOSUCHORDER",
        ),
        "closed": _park(
            session, ReviewReason.SUBSCRIPTION_CLOSED, hours=1, amount=990, subscription_id=sub.id
        ),
    }


def _resolve(client: FlaskClient, account: Account, review_id: object, **body: Any) -> Any:
    body = {"decision": "refund_needed", "note": "Refunded in the ECPay dashboard."} | body
    return client.post(
        f"/api/payment-reviews/{review_id}/resolve/", headers=account.headers, json=body
    )


def test_staff_list_the_queue_oldest_first_with_the_order_and_customer(
    client: FlaskClient, staff: Account, customer: Account, items: dict[str, Any]
) -> None:
    page = client.get("/api/payment-reviews/", headers=staff.headers)
    assert page.status_code == 200, page.get_json()
    body = page.get_json()
    assert (body["total"], body["page"], body["pages"]) == (3, 1, 1)
    ids = [item["id"] for item in body["results"]]
    assert ids == [str(items["unknown"]), str(items["closed"]), str(items["duplicate"])]
    duplicate = body["results"][2]
    order = items["order"]
    assert duplicate | {"id": None, "created_at": None} == {
        "id": None,
        "created_at": None,
        "status": "open",
        "reason": "duplicate_payment",
        "amount": "990",
        "currency": "TWD",
        "merchant_trade_no": order.order_number,
        "gateway_trade_no": "2703011200001",
        "order_id": str(order.id),
        "order_number": order.order_number,
        "subscription_id": str(order.subscription_id),
        "user_id": customer.id,
        "detail": "parked for duplicate_payment",
        "arrived_at": (ARRIVED + timedelta(hours=2)).isoformat(),
        "resolved_at": None,
        "resolved_by": None,
        "resolution_note": None,
    }
    unknown = body["results"][0]
    assert (unknown["order_id"], unknown["order_number"], unknown["user_id"]) == (None, None, None)
    # Only a subscription named: the customer is its owner.
    assert body["results"][1]["user_id"] == customer.id
    second = client.get("/api/payment-reviews/?page=2&page_size=2", headers=staff.headers)
    assert [i["id"] for i in second.get_json()["results"]] == [str(items["duplicate"])]


def test_staff_filter_by_status_and_reason(
    client: FlaskClient, staff: Account, items: dict[str, Any]
) -> None:
    assert _resolve(client, staff, items["closed"], decision="dismissed").status_code == 200

    def ids(query: str) -> list[str]:
        response = client.get(f"/api/payment-reviews/?{query}", headers=staff.headers)
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["results"]]

    assert ids("status=open") == [str(items["unknown"]), str(items["duplicate"])]
    assert ids("status=dismissed") == [str(items["closed"])]
    assert ids("status=applied") == []
    assert ids("reason=unknown_order") == [str(items["unknown"])]
    assert ids("status=open&reason=subscription_closed") == []
    for bad in ("status=closed", "reason=whatever", "page_size=101"):
        body = assert_envelope(
            client.get(f"/api/payment-reviews/?{bad}", headers=staff.headers),
            422,
            "validation_error",
        )
        assert body["errors"]


def test_staff_read_one_item_and_unknown_ids_are_404(
    client: FlaskClient, staff: Account, items: dict[str, Any]
) -> None:
    one = client.get(f"/api/payment-reviews/{items['duplicate']}/", headers=staff.headers)
    assert one.status_code == 200
    assert one.get_json()["order_number"] == items["order"].order_number
    assert_envelope(
        client.get(f"/api/payment-reviews/{uuid.uuid4()}/", headers=staff.headers), 404, "not_found"
    )
    assert_envelope(_resolve(client, staff, uuid.uuid4()), 404, "not_found")


def test_customers_and_anonymous_callers_are_refused(
    client: FlaskClient, session: Session, customer: Account, items: dict[str, Any]
) -> None:
    # Even the customer whose order the item names: the queue is for staff.
    review_id = items["duplicate"]
    assert_envelope(client.get("/api/payment-reviews/", headers=customer.headers), 403, "forbidden")
    assert_envelope(
        client.get(f"/api/payment-reviews/{review_id}/", headers=customer.headers), 403, "forbidden"
    )
    assert_envelope(_resolve(client, customer, review_id), 403, "forbidden")
    assert_envelope(client.get("/api/payment-reviews/"), 401)
    assert_envelope(
        client.post(
            f"/api/payment-reviews/{review_id}/resolve/",
            json={"decision": "dismissed", "note": "x"},
        ),
        401,
    )
    session.expire_all()
    assert session.get(PaymentReview, review_id).status == "open"  # type: ignore[union-attr]


def test_staff_resolve_an_item_once_and_it_is_audited(
    client: FlaskClient,
    session: Session,
    staff: Account,
    customer: Account,
    items: dict[str, Any],
) -> None:
    review_id = items["duplicate"]
    response = _resolve(
        client,
        staff,
        review_id,
        decision="refund_needed",
        note="  Card was charged twice; refund requested.  ",
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "refund_needed"
    assert body["resolved_by"] == staff.id
    assert body["resolution_note"] == "Card was charged twice; refund requested."
    assert body["resolved_at"] is not None

    session.expire_all()
    row = session.get(PaymentReview, review_id)
    assert row is not None and row.status == "refund_needed" and row.resolved_by == staff.user.id
    [audit_row] = session.scalars(
        select(AuditLog).where(AuditLog.action == "payment_review.resolved")
    ).all()
    assert (audit_row.user_id, audit_row.resource_type, audit_row.resource_id) == (
        staff.user.id,
        "payment_review",
        str(review_id),
    )
    assert audit_row.meta["decision"] == "refund_needed"
    assert audit_row.meta["amount"] == "990"
    assert audit_row.meta["customer_id"] == customer.id

    again = _resolve(client, staff, review_id, decision="dismissed")
    body = assert_envelope(again, 409, "review_not_open")
    assert "refund_needed" in body["message"]
    session.expire_all()
    assert session.get(PaymentReview, review_id).status == "refund_needed"  # type: ignore[union-attr]
    assert (
        len(
            session.scalars(
                select(AuditLog).where(AuditLog.action == "payment_review.resolved")
            ).all()
        )
        == 1
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": "open", "note": "reopen it"}, "decision"),
        ({"decision": "refunded", "note": "typo"}, "decision"),
        ({"decision": "applied"}, "note"),
        ({"decision": "applied", "note": ""}, "note"),
        ({"decision": "applied", "note": "   "}, "note"),
        ({"decision": "applied", "note": "x" * 1001}, "note"),
        ({"note": "no decision"}, "decision"),
    ],
    ids=["open", "unknown", "no-note", "empty-note", "blank-note", "long-note", "no-decision"],
)
def test_bad_resolutions_are_refused_in_the_envelope(
    client: FlaskClient,
    session: Session,
    staff: Account,
    items: dict[str, Any],
    body: dict[str, Any],
    field: str,
) -> None:
    response = client.post(
        f"/api/payment-reviews/{items['unknown']}/resolve/", headers=staff.headers, json=body
    )
    envelope = assert_envelope(response, 422, "validation_error")
    assert set(envelope["errors"]) == {field}, envelope
    session.expire_all()
    assert session.get(PaymentReview, items["unknown"]).status == "open"  # type: ignore[union-attr]


def test_a_note_of_exactly_the_limit_is_accepted(
    client: FlaskClient, staff: Account, items: dict[str, Any]
) -> None:
    response = _resolve(client, staff, items["unknown"], decision="applied", note="n" * 1000)
    assert response.status_code == 200, response.get_json()
    assert len(response.get_json()["resolution_note"]) == 1000


def test_two_concurrent_resolutions_exactly_one_wins(
    engine: Engine, session: Session, staff: Account, items: dict[str, Any]
) -> None:
    """The first locks the row; the second waits for its commit, then sees it closed."""
    review_id = items["duplicate"]
    make = session_factory(engine)
    clock = FixedClock(ARRIVED + timedelta(days=1))
    outcome: dict[str, Any] = {}

    def second() -> None:
        with make() as other:
            user = other.get(User, staff.user.id)
            assert user is not None
            try:
                review_queue.resolve(
                    other,
                    clock,
                    Actor(user_id=user.id),
                    user,
                    review_id,
                    decision="dismissed",
                    note="second",
                )
                other.commit()
                outcome["second"] = "won"
            except Conflict as exc:
                outcome["second"] = exc.code

    with make() as first:
        user = first.get(User, staff.user.id)
        assert user is not None
        review_queue.resolve(
            first, clock, Actor(user_id=user.id), user, review_id, decision="applied", note="first"
        )
        racer = threading.Thread(target=second)
        racer.start()
        racer.join(timeout=1.0)
        assert racer.is_alive(), "the second resolution must wait for the first's lock"
        first.commit()
    racer.join(timeout=10)
    assert outcome == {"second": "review_not_open"}
    session.expire_all()
    row = session.get(PaymentReview, review_id)
    assert row is not None and (row.status, row.resolution_note) == ("applied", "first")
    audits = session.scalars(
        select(AuditLog).where(AuditLog.action == "payment_review.resolved")
    ).all()
    assert len(audits) == 1


def test_the_queue_is_in_the_openapi_document(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").get_json()
    paths = spec["paths"]
    assert {
        "/api/payment-reviews/",
        "/api/payment-reviews/{review_id}/",
        "/api/payment-reviews/{review_id}/resolve/",
    } <= set(paths)
    resolve = paths["/api/payment-reviews/{review_id}/resolve/"]["post"]
    assert {"200", "401", "403", "404", "409", "422"} <= set(resolve["responses"])
    assert "review_not_open" in resolve["description"]
    assert paths["/api/payment-reviews/"]["get"]["summary"].startswith("Parked payments")
