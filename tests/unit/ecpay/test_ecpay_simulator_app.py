"""The simulator app in-process (Flask test client, no network): checks, pages, control API."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest
from flask.testing import FlaskClient

from services.core.clock import FixedClock
from services.ecpay.checkmac import sign, verify_check_mac_value
from services.ecpay.checkout import CheckoutOrder, ChoosePayment, build_checkout
from services.ecpay.credentials import EcpayCredentials
from services.ecpay.simulator.app import create_app, simulator_of

pytestmark = pytest.mark.unit

NOW = datetime(2025, 5, 1, 2, 0, tzinfo=UTC)
CREDS = EcpayCredentials.stage("http://sim.test")


@pytest.fixture
def client() -> Iterator[FlaskClient]:
    app = create_app(clock=FixedClock(NOW), start_notifier=False)
    yield app.test_client()
    simulator_of(app).notifier.stop()


def _checkout(client: FlaskClient, no: str = "U1", **changes: Any) -> Any:
    base: dict[str, Any] = {
        "merchant_trade_no": no,
        "total_amount": 500,
        "trade_desc": "d",
        "item_name": "i",
        "return_url": "http://shop.test/return",
    }
    form = build_checkout(CREDS, CheckoutOrder(**(base | changes)), now=NOW)
    return client.post("/Cashier/AioCheckOut/V5", data=dict(form.fields))


def _hidden_fields(page: str) -> dict[str, str]:
    pairs = re.findall(r'name="([^"]*)" value="([^"]*)"', page)
    return {unescape(k): unescape(v) for k, v in pairs}


@pytest.mark.parametrize(
    ("drop", "message"), [("ItemName", "ItemName"), ("CheckMacValue", "CheckMacValue")]
)
def test_missing_required_field_is_refused(client: FlaskClient, drop: str, message: str) -> None:
    form = build_checkout(CREDS, CheckoutOrder("U2", 5, "d", "i", "http://s.test/r"), now=NOW)
    fields = {k: v for k, v in form.fields.items() if k != drop}
    response = client.post("/Cashier/AioCheckOut/V5", data=fields)
    # ECPay shows checkout refusals as an HTML page with HTTP 200.
    assert response.status_code == 200 and message in response.text
    assert "Pay by card" not in response.text


def test_other_merchant_is_refused(client: FlaskClient) -> None:
    other = EcpayCredentials("9999999", CREDS.hash_key, CREDS.hash_iv, CREDS.gateway_url)
    form = build_checkout(other, CheckoutOrder("U3", 5, "d", "i", "http://s.test/r"), now=NOW)
    response = client.post("/Cashier/AioCheckOut/V5", data=dict(form.fields))
    assert response.status_code == 200 and "10200051|MerchantID" in response.text


def test_payment_page_posts_signed_result_to_order_result_url(client: FlaskClient) -> None:
    page = _checkout(client, order_result_url="http://shop.test/done")
    assert "Pay by card" in page.text
    assert "src=" not in page.text and "<link" not in page.text  # no external assets
    result = client.post("/SimulatorPage/U1/pay", data={"method": "Credit"})
    assert 'action="http://shop.test/done"' in result.text
    fields = _hidden_fields(result.text)
    assert fields["RtnCode"] == "1" and fields["MerchantTradeNo"] == "U1"
    assert verify_check_mac_value(fields, CREDS.hash_key, CREDS.hash_iv)


def test_client_back_url_is_offered_after_paying(client: FlaskClient) -> None:
    _checkout(client, client_back_url="http://shop.test/back")
    result = client.post("/SimulatorPage/U1/pay", data={"method": "Credit"})
    assert 'href="http://shop.test/back"' in result.text and "Payment succeeded" in result.text


def test_issue_code_redirects_browser_to_client_redirect_url(client: FlaskClient) -> None:
    _checkout(client, choose_payment=ChoosePayment.CVS, client_redirect_url="http://shop.test/code")
    result = client.post("/SimulatorPage/U1/issue-code", data={})
    fields = _hidden_fields(result.text)
    assert fields["RtnCode"] == "10100073" and fields["PaymentNo"]
    assert verify_check_mac_value(fields, CREDS.hash_key, CREDS.hash_iv)


def test_return_notification_is_queued_with_paid_retries(client: FlaskClient) -> None:
    _checkout(client)
    assert client.post("/_sim/orders/U1/pay", json={}).status_code == 200
    queued = client.get("/_sim/notifications?kind=ReturnURL").get_json()["notifications"]
    assert queued[0]["url"] == "http://shop.test/return" and queued[0]["state"] == "pending"
    assert verify_check_mac_value(queued[0]["fields"], CREDS.hash_key, CREDS.hash_iv)


def test_control_api_refuses_unknown_orders_and_bad_transitions(client: FlaskClient) -> None:
    assert client.post("/_sim/orders/NOPE/pay", json={}).status_code == 404
    _checkout(client, choose_payment=ChoosePayment.ATM)
    assert client.post("/_sim/orders/U1/pay", json={}).status_code == 409  # no code issued yet
    assert client.post("/_sim/orders/U1/expire").get_json()["order"]["status"] == "expired"
    assert client.post("/_sim/orders/U1/issue-code", json={}).status_code == 409


def _query(client: FlaskClient, stamp: datetime, no: str = "U1") -> str:
    fields = sign(
        {"MerchantID": "3002607", "MerchantTradeNo": no, "TimeStamp": str(int(stamp.timestamp()))},
        CREDS.hash_key,
        CREDS.hash_iv,
    )
    return client.post("/Cashier/QueryTradeInfo/V5", data=fields).text


def test_query_needs_a_fresh_timestamp_and_a_known_order(client: FlaskClient) -> None:
    _checkout(client)
    assert "TradeStatus=0" in _query(client, NOW)
    assert "TimeStamp" in _query(client, NOW - timedelta(minutes=4))
    unknown = _query(client, NOW, "OTHER")
    assert "TradeStatus=10200047" in unknown and "MerchantTradeNo=OTHER" in unknown
