"""Staff export the customers who joined, the orders created and the refunds asked for in a
range of Taipei days as CSV files Excel opens (BOM, formula-safe text, amounts as stored);
each export is audited and staff-only."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.config import Settings
from services.core.db.models import AuditLog, Order
from services.core.domain.periods import TAIPEI
from tests.integration.api.api_helpers import Account, assert_envelope, create_account
from tests.integration.api.test_api_refunds import paid

pytestmark = pytest.mark.integration


def _today() -> str:
    return datetime.now(UTC).astimezone(TAIPEI).date().isoformat()


def _rows(client: FlaskClient, who: Account, kind: str, since: str,
          until: str) -> list[dict[str, str]]:
    response = client.get(f"/api/reports/{kind}.csv", query_string={"from": since, "to": until},
                          headers=who.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    assert f"{kind}-" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def test_customers_orders_and_refunds_of_a_range_as_excel_ready_csv(
    client: FlaskClient, session: Session, settings: Settings, customer: Account,
    staff: Account, plan: Any,
) -> None:
    create_account(session, email="mei.lin@example.tw", first_name="=cmd|' /C calc'!A0",
                   last_name="林", company_name="林記茶行", tax_id="24549210")
    session.commit()
    order_id = paid(session, settings, customer, plan)
    number = session.get_one(Order, order_id).order_number
    refund = client.post(f"/api/orders/{order_id}/refunds/", json={
        "amount": "300", "reason": "+部分退款"}, headers={**staff.headers,
                                                        "Idempotency-Key": "exp-1"})
    assert refund.status_code == 201, refund.get_json()
    today = _today()

    people = {row["email"]: row for row in _rows(client, staff, "customers", today, today)}
    assert set(people) == {customer.user.email, "mei.lin@example.tw"}  # staff left out
    mei = people["mei.lin@example.tw"]
    assert mei["first_name"] == "'=cmd|' /C calc'!A0"  # never run as a formula
    assert (mei["company_name"], mei["tax_id"]) == ("林記茶行", "24549210")

    [order] = _rows(client, staff, "orders", today, today)
    assert (order["order_number"], order["amount"], order["status"]) == (
        number, "990", "completed")  # a part refunded: still a paid order
    assert order["customer_email"] == customer.user.email and order["plan"] == plan.slug

    [back] = _rows(client, staff, "refunds", today, today)
    assert (back["order_number"], back["amount"], back["method"]) == (number, "300", "manual")
    assert back["reason"] == "'+部分退款"

    # Another day holds none of it; the header still names every column.
    tomorrow = (datetime.now(UTC).astimezone(TAIPEI).date() + timedelta(days=1)).isoformat()
    assert _rows(client, staff, "orders", tomorrow, tomorrow) == []
    kinds = session.scalars(select(AuditLog.resource_id).where(
        AuditLog.action == "report_export", AuditLog.user_id == staff.user.id)).all()
    assert sorted(kinds) == ["customers", "orders", "orders", "refunds"]


def test_exports_are_staff_only_and_bounded(
    client: FlaskClient, staff: Account, customer: Account,
) -> None:
    today = _today()
    for kind in ("customers", "orders", "refunds"):
        assert_envelope(client.get(f"/api/reports/{kind}.csv", query_string={
            "from": today, "to": today}, headers=customer.headers), 403)
    assert_envelope(client.get("/api/reports/orders.csv", query_string={
        "from": "2026-01-02", "to": "2026-01-01"}, headers=staff.headers), 422)
    assert_envelope(client.get("/api/reports/orders.csv", query_string={
        "from": "2025-01-01", "to": "2026-06-01"}, headers=staff.headers), 422)
    assert client.get("/api/reports/passwords.csv", query_string={
        "from": today, "to": today}, headers=staff.headers).status_code == 404
