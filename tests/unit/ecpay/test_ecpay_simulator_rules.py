"""Simulator rules in-process (Flask test client, fixed clock): the periodic schedule's
calendar, CreditCardPeriodAction's checks, code expiry on the simulator clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest
from flask.testing import FlaskClient

from services.core.clock import FixedClock
from services.ecpay.checkmac import sign
from services.ecpay.checkout import CheckoutOrder, ChoosePayment, PeriodicPlan, build_checkout
from services.ecpay.credentials import EcpayCredentials
from services.ecpay.fields import TAIPEI
from services.ecpay.query import RTN_PERIOD_ALREADY_CANCELLED
from services.ecpay.simulator.app import create_app, simulator_of
from services.ecpay.simulator.periodic import add_months, scheduled_date

pytestmark = pytest.mark.unit

NOW = datetime(2025, 5, 1, 2, 0, tzinfo=UTC)
CREDS = EcpayCredentials.stage("http://sim.test")


def _taipei(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TAIPEI)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (_taipei(2025, 1, 31, 9), 1, _taipei(2025, 2, 28, 9)),
        (_taipei(2025, 1, 31, 9), 2, _taipei(2025, 3, 31, 9)),  # counted from Jan 31 again
        (_taipei(2024, 1, 31, 9), 1, _taipei(2024, 2, 29, 9)),
        (_taipei(2025, 11, 30, 9), 3, _taipei(2026, 2, 28, 9)),
        (_taipei(2024, 2, 29, 9), 12, _taipei(2025, 2, 28, 9)),
    ],
)
def test_add_months_clamps_the_day(start: datetime, months: int, expected: datetime) -> None:
    assert add_months(start, months) == expected


def test_schedule_counts_from_the_first_authorization() -> None:
    first = _taipei(2025, 1, 31, 23, 30)
    assert [scheduled_date(first, "M", 1, n) for n in (1, 2, 3)] == [
        first,
        _taipei(2025, 2, 28, 23, 30),
        _taipei(2025, 3, 31, 23, 30),
    ]
    assert scheduled_date(first, "D", 10, 3) == first + timedelta(days=20)
    assert scheduled_date(first, "M", 3, 2) == _taipei(2025, 4, 30, 23, 30)
    assert scheduled_date(first, "Y", 1, 2) == _taipei(2026, 1, 31, 23, 30)
    # A UTC instant is stepped on Taipei's calendar (Feb 28 16:30 UTC is Mar 1 in Taipei).
    utc = datetime(2025, 2, 28, 16, 30, tzinfo=UTC)
    assert scheduled_date(utc, "M", 1, 2) == _taipei(2025, 4, 1, 0, 30)


@pytest.fixture
def client() -> Iterator[FlaskClient]:
    app = create_app(clock=FixedClock(NOW), start_notifier=False)
    yield app.test_client()
    simulator_of(app).notifier.stop()


def _checkout(client: FlaskClient, no: str = "R1", **changes: Any) -> None:
    base: dict[str, Any] = {
        "merchant_trade_no": no,
        "total_amount": 500,
        "trade_desc": "d",
        "item_name": "i",
        "return_url": "http://shop.test/return",
    }
    form = build_checkout(CREDS, CheckoutOrder(**(base | changes)), now=NOW)
    assert "Pay" in client.post("/Cashier/AioCheckOut/V5", data=dict(form.fields)).text


def _action(
    client: FlaskClient, no: str, action: str = "Cancel", stamp: datetime = NOW, **changes: str
) -> dict[str, str]:
    fields = {
        "MerchantID": "3002607",
        "MerchantTradeNo": no,
        "Action": action,
        "TimeStamp": str(int(stamp.timestamp())),
    }
    signed = sign(fields, CREDS.hash_key, CREDS.hash_iv) | changes
    answer = client.post("/Cashier/CreditCardPeriodAction", data=signed)
    assert answer.status_code == 200
    return dict(parse_qsl(answer.text))


def _agreement(client: FlaskClient) -> None:
    plan = PeriodicPlan(500, "M", 1, 12, "http://shop.test/period")
    _checkout(client, periodic=plan, choose_payment=ChoosePayment.CREDIT)
    assert client.post("/_sim/orders/R1/pay", json={}).status_code == 200


def test_period_action_checks_signature_timestamp_action_and_order(client: FlaskClient) -> None:
    _agreement(client)
    assert _action(client, "R1", CheckMacValue="0" * 64)["RtnCode"] == "10200073"
    assert "TimeStamp" in _action(client, "R1", stamp=NOW - timedelta(minutes=4))["RtnMsg"]
    assert "Action" in _action(client, "R1", "Pause")["RtnMsg"]
    assert _action(client, "NOPE")["RtnCode"] == "10200047"
    answer = _action(client, "R1")
    assert answer == {"RtnCode": "1", "RtnMsg": "成功", "MerchantID": "3002607",
                      "MerchantTradeNo": "R1"}  # fmt: skip
    assert _action(client, "R1")["RtnCode"] == str(RTN_PERIOD_ALREADY_CANCELLED)


def test_period_action_refuses_a_one_time_order(client: FlaskClient) -> None:
    _checkout(client)
    client.post("/_sim/orders/R1/pay", json={})
    assert _action(client, "R1")["RtnCode"] not in ("1", "")


def test_an_issued_code_expires_on_the_simulator_clock(client: FlaskClient) -> None:
    _checkout(client, choose_payment=ChoosePayment.ATM, atm_expire_days=1)
    client.post("/_sim/orders/R1/issue-code", json={})
    expire_date = client.get("/_sim/orders/R1").get_json()["order"]["code_info"]["ExpireDate"]
    assert expire_date == "2025/05/02"  # NOW is 10:00 on May 1 in Taipei
    assert client.post("/_sim/orders/R1/expire", json={}).status_code == 409
    # 23:59:59 Taipei on the ExpireDate is still payable time; one second later it is not.
    until_last_second = timedelta(days=1, hours=13, minutes=59, seconds=59)
    assert client.post("/_sim/clock", json={"advance_seconds": until_last_second.total_seconds()})
    assert client.post("/_sim/orders/R1/expire", json={}).status_code == 409
    client.post("/_sim/clock", json={"advance_seconds": 1})
    assert client.post("/_sim/orders/R1/pay", json={}).status_code == 409
    assert client.post("/_sim/orders/R1/expire", json={}).get_json()["order"]["status"] == "expired"


def test_clock_only_moves_forward(client: FlaskClient) -> None:
    assert client.post("/_sim/clock", json={"advance_seconds": -1}).status_code == 400
    answer = client.post("/_sim/clock", json={"advance_seconds": 3600}).get_json()
    assert answer["offset_seconds"] == 3600 and answer["now"] == "2025/05/01 11:00:00"
