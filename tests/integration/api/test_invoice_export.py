"""Accountants get the invoices of a date range as a CSV that Excel opens with the Chinese
intact (UTF-8 with a byte-order mark), amounts exactly as invoiced, refunds beside them."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.config import Settings
from services.core.db.models import Invoice, Order
from tests.integration.api.api_helpers import Account, assert_envelope
from tests.integration.api.test_api_refunds import PAID_AT, paid

pytestmark = pytest.mark.integration


def _export(client: FlaskClient, who: Account, since: str, until: str) -> Any:
    return client.get("/api/reports/invoices.csv", query_string={"from": since, "to": until},
                      headers=who.headers)


def test_the_export_is_excel_ready_exact_and_bounded_by_taipei_days(
    client: FlaskClient, session: Session, settings: Settings, customer: Account,
    staff: Account, plan: Any,
) -> None:
    order_id = paid(session, settings, customer, plan)  # paid 2027-03-01 10:00 in Taipei
    invoice = session.scalars(select(Invoice).where(Invoice.order_id == order_id)).one()
    invoice.buyer_name = "=HYPERLINK(\"x\")林記茶行"
    session.commit()
    refund = client.post(f"/api/orders/{order_id}/refunds/", json={
        "amount": "300", "reason": "部分退款"}, headers={**staff.headers,
                                                       "Idempotency-Key": "csv-1"})
    confirmed = client.post(f"/api/refunds/{refund.get_json()['id']}/confirm/",
                            json={"reference": "TX-1"}, headers=staff.headers)
    assert confirmed.status_code == 200, confirmed.get_json()

    response = _export(client, staff, "2027-03-01", "2027-03-31")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    assert "invoices-20270301-20270331.csv" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    [row] = rows
    number = session.get_one(Order, order_id).order_number
    assert (row["invoice_number"], row["order_number"]) == (invoice.invoice_number, number)
    assert row["issued_date"] == "2027-03-01"
    assert (row["net_amount"], row["tax_amount"], row["total_amount"]) == ("943", "47", "990")
    assert row["refunded_amount"] == "300"
    assert row["buyer_name"] == "'=HYPERLINK(\"x\")林記茶行"  # never run as a formula
    assert row["customer_email"] == customer.user.email

    # The day before (in Taipei) holds nothing; the header still says what each column is.
    empty = _export(client, staff, "2027-02-28", "2027-02-28").get_data().decode("utf-8-sig")
    assert empty.splitlines() == [empty.splitlines()[0]] and "total_amount" in empty
    assert PAID_AT.hour == 2  # 10:00 in Taipei: the invoice is on 03-01 there


def test_the_export_is_for_staff_and_refuses_a_backwards_or_huge_range(
    client: FlaskClient, customer: Account, staff: Account,
) -> None:
    assert_envelope(_export(client, customer, "2027-01-01", "2027-01-31"), 403)
    assert_envelope(_export(client, staff, "2027-02-01", "2027-01-01"), 422)
    assert_envelope(_export(client, staff, "2025-01-01", "2027-01-01"), 422)
    assert_envelope(client.get("/api/reports/invoices.csv", headers=staff.headers), 422)
