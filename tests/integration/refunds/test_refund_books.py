"""`fluxus audit books` on refunds that went wrong (rows written as a bug or a crash would
leave them), and the refund gauges the alert reads."""

from __future__ import annotations

import json
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import Order, Refund
from services.core.metrics_refunds import refund_counts
from services.core.usecases.books import audit_books, parse_ids
from services.core.usecases.books_findings import Check
from tests.reliability.harness import FLUXUS, fluxus_env
from tests.support.factories import make_order, make_plan, make_subscription, make_user

pytestmark = pytest.mark.integration

NOW = datetime(2027, 2, 1, 2, 0, tzinfo=UTC)


def paid_order(session: Session, amount: int = 1000, status: str = "completed") -> Order:
    user = make_user(session)
    sub = make_subscription(session, user, make_plan(session, price=Decimal(amount)))
    return make_order(session, sub, amount=Decimal(amount), status=status, paid_at=NOW)


def refund(session: Session, order: Order, amount: int, **fields: Any) -> Refund:
    values: dict[str, Any] = {
        "order_id": order.id, "user_id": order.user_id, "amount": Decimal(amount),
        "reason": "test", "method": "card", "status": "succeeded",
        "idempotency_key": uuid.uuid4().hex, "gateway_actions": {"calls": []},
        "completed_at": NOW, "einvoice_status": "not_needed", "created_at": NOW,
    }
    row = Refund(**(values | fields))
    session.add(row)
    session.flush()
    return row


def test_more_refunded_than_paid_and_a_wrong_order_status_are_findings(
    session: Session
) -> None:
    over = paid_order(session, status="refunded")
    refund(session, over, 600)
    refund(session, over, 600)
    partly = paid_order(session, status="refunded")  # says refunded, only 100 went back
    refund(session, partly, 100)
    session.commit()
    report = audit_books(session, FixedClock(NOW))
    assert parse_ids(report, Check.REFUNDED_MORE_THAN_PAID, "order") == {over.id}
    assert parse_ids(report, Check.REFUND_ORDER_STATUS_MISMATCH, "order") == {
        over.id, partly.id}


def test_money_back_without_its_void_or_allowance_is_a_finding(session: Session) -> None:
    order = paid_order(session, status="refunded")
    claimed = refund(session, order, 1000, einvoice_status="done",
                     einvoice_result={"correction": "allowance"})
    failing = paid_order(session)
    broken = refund(session, failing, 10, einvoice_status="failed", einvoice_error="refused")
    late = paid_order(session)
    waiting = refund(session, late, 10, einvoice_status="pending",
                     completed_at=NOW - timedelta(minutes=30))
    session.commit()
    found = parse_ids(audit_books(session, FixedClock(NOW)),
                      Check.REFUND_WITHOUT_EINVOICE_CORRECTION, "refund")
    assert found == {claimed.id, broken.id}  # half an hour pending is still normal
    found = parse_ids(audit_books(session, FixedClock(NOW + timedelta(hours=1))),
                      Check.REFUND_WITHOUT_EINVOICE_CORRECTION, "refund")
    assert found == {claimed.id, broken.id, waiting.id}


def test_failed_and_stuck_refunds_are_findings_and_gauges(session: Session) -> None:
    failed = refund(session, paid_order(session), 100, status="failed", completed_at=None,
                    last_error="10300003 wrong state")
    stuck = refund(session, paid_order(session), 100, status="sent", completed_at=None,
                   created_at=NOW - timedelta(days=2))
    fresh = refund(session, paid_order(session), 100, status="sent", completed_at=None,
                   created_at=NOW - timedelta(hours=2))
    owed = refund(session, paid_order(session), 100, method="manual", status="owed",
                  completed_at=None)
    session.commit()
    report = audit_books(session, FixedClock(NOW))
    assert parse_ids(report, Check.REFUND_FAILED_OR_STUCK, "refund") == {failed.id, stuck.id}
    assert fresh.id and owed.id
    counts, oldest = refund_counts(session, FixedClock(NOW))
    assert (counts["failed"], counts["in_flight"], counts["owed"]) == (1, 2, 1)
    assert oldest == 2 * 86400


def test_the_books_command_exits_non_zero_on_a_refund_finding(
    session: Session, settings: Settings
) -> None:
    failed = refund(session, paid_order(session), 100, status="failed", completed_at=None,
                    last_error="refused")
    session.commit()
    done = subprocess.run([FLUXUS, "audit", "books", "--now", NOW.isoformat(), "--json"],
                          env=fluxus_env(settings), capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode != 0, done.stderr
    # (The factory's bare order has no invoice: other checks speak too.)
    found = [f for f in json.loads(done.stdout)["findings"] if f["check"].startswith("refund")]
    assert [(f["check"], f["ids"]["refund"]) for f in found] == [
        ("refund_failed_or_stuck", str(failed.id))]
    assert "refused" in found[0]["detail"]
