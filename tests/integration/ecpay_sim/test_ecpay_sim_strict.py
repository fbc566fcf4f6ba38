"""The simulator is as strict as ECPay: unknown orders, 模擬付款, code expiry, BARCODE delay,
and its control page (real simulator process, real merchant receiver)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from html import unescape
from typing import Any

import httpx
import pytest

from services.core.config import SIM_CREDIT_CHECK_CODE
from services.ecpay.checkmac import sign
from services.ecpay.checkout import ChoosePayment
from services.ecpay.client import EcpayClient
from services.ecpay.credentials import EcpayCredentials
from services.ecpay.credit_detail import QUERY_CARD_TRADE_PATH
from services.ecpay.notifications import PaymentNotification, verify_notification
from tests.integration.ecpay_sim.sim_helpers import (
    Receiver,
    checkout,
    control,
    notifications,
    order,
    periodic,
    refused,
    sim_order,
    trade_no,
)

pytestmark = pytest.mark.integration

Wait = Callable[..., Any]
TWO_DAYS = 2 * 24 * 3600


def test_query_for_an_unknown_order_answers_a_signed_not_found_status(
    credentials: EcpayCredentials,
) -> None:
    with EcpayClient(credentials, timeout=5) as client:
        info = client.query_trade("NEVERSEEN" + trade_no()[2:12])
    # query_trade verified the answer's CheckMacValue before returning it.
    assert info.not_found and not info.paid
    assert (info.trade_status, info.trade_amt, info.trade_no) == ("10200047", 0, "")


def test_simulate_paid_notifies_but_leaves_the_trade_unpaid(
    simulator: str, credentials: EcpayCredentials, receiver: Receiver, wait_for: Wait
) -> None:
    no = trade_no()
    checkout(credentials, order(receiver, no))
    control(simulator, no, "simulate")
    post = wait_for(lambda: receiver.at(f"/return/{no}"), what="simulated ReturnURL")[0]
    note = PaymentNotification.from_form(verify_notification(post.form, credentials))
    assert note.paid and note.simulate_paid
    with EcpayClient(credentials, timeout=5) as client:
        assert client.query_trade(no).trade_status == "0"
        control(simulator, no, "pay")
        assert client.query_trade(no).paid
    posts = wait_for(
        lambda: len(receiver.at(f"/return/{no}")) >= 2 and receiver.at(f"/return/{no}"),
        what="the real ReturnURL",
    )
    assert [p.form["SimulatePaid"] for p in posts] == ["1", "0"]


def test_an_issued_code_stays_payable_until_forced_to_expire(
    simulator: str, credentials: EcpayCredentials, receiver: Receiver
) -> None:
    no = trade_no()
    checkout(credentials, order(receiver, no, choose_payment=ChoosePayment.ATM, atm_expire_days=3))
    control(simulator, no, "issue-code")
    assert refused(simulator, no, "expire") == 409
    assert sim_order(simulator, no)["status"] == "code_issued"
    assert control(simulator, no, "expire", {"force": True})["order"]["status"] == "expired"
    assert refused(simulator, no, "pay") == 409


def _advance(simulator: str, seconds: float) -> list[int]:
    response = httpx.post(f"{simulator}/_sim/clock", json={"advance_seconds": seconds}, timeout=10)
    assert response.status_code == 200, response.text
    released: list[int] = response.json()["released"]
    return released


def test_barcode_result_reaches_the_merchant_two_days_after_payment(
    simulator: str, credentials: EcpayCredentials, receiver: Receiver, wait_for: Wait
) -> None:
    no = trade_no()
    checkout(credentials, order(receiver, no, choose_payment=ChoosePayment.BARCODE))
    control(simulator, no, "issue-code")
    delivery_id = control(simulator, no, "pay")["delivery_id"]
    with EcpayClient(credentials, timeout=5) as client:
        assert client.query_trade(no).paid  # ECPay knows at once; the merchant hears later
    [held] = notifications(simulator, no, "ReturnURL")
    assert held["state"] == "held" and held["attempts"] == []
    assert httpx.post(f"{simulator}/_sim/deliver-due", timeout=10).json()["released"] == []

    assert delivery_id not in _advance(simulator, TWO_DAYS - 60)
    assert notifications(simulator, no, "ReturnURL")[0]["state"] == "held"
    assert delivery_id in _advance(simulator, 120)
    post = wait_for(lambda: receiver.at(f"/return/{no}"), what="delayed BARCODE ReturnURL")[0]
    note = PaymentNotification.from_form(verify_notification(post.form, credentials))
    assert note.paid and note.payment_type == "BARCODE_BARCODE"


def _forms(page: str, no: str) -> dict[str, str]:
    """Button value -> form action, for the row of one order on the control page."""
    row = re.search(rf'<tr id="{no}">(.*?)</tr>', page, re.S)
    assert row, f"{no} not listed"
    found = re.findall(r'action="([^"]+)"[^>]*>.*?<button[^>]*value="([^"]+)"', row.group(1))
    return {unescape(value): unescape(action) for action, value in found}


def _press(simulator: str, no: str, button: str) -> str:
    page = httpx.get(f"{simulator}/", timeout=10).text
    action = _forms(page, no)[button]
    response = httpx.post(f"{simulator}{action}", timeout=10, follow_redirects=True)
    assert response.status_code == 200 and str(response.url).startswith(f"{simulator}/?msg=")
    return response.text


def test_control_page_lists_orders_and_its_buttons_work(
    simulator: str, credentials: EcpayCredentials, receiver: Receiver, wait_for: Wait
) -> None:
    one_time, agreement = trade_no(), trade_no()
    checkout(credentials, order(receiver, one_time))
    checkout(credentials, periodic(receiver, agreement, times=3))
    page = httpx.get(f"{simulator}/", timeout=10).text
    assert set(_forms(page, one_time)) >= {"pay", "fail", "simulate", "expire"}

    assert "simulate done" in _press(simulator, one_time, "simulate")
    wait_for(lambda: receiver.at(f"/return/{one_time}"), what="simulated ReturnURL")
    assert sim_order(simulator, one_time)["status"] == "pending"
    _press(simulator, one_time, "pay")
    assert sim_order(simulator, one_time)["status"] == "paid"

    _press(simulator, agreement, "pay")
    _press(simulator, agreement, "charge")
    _press(simulator, agreement, "decline")
    state = sim_order(simulator, agreement)
    assert (state["periods_run"], state["failed_charges"], state["exec_status"]) == (3, 1, "2")

    second = trade_no()
    checkout(credentials, periodic(receiver, second))
    _press(simulator, second, "pay")
    _press(simulator, second, "cancel-agreement")
    assert sim_order(simulator, second)["exec_status"] == "0"
    assert "charge" not in _forms(httpx.get(f"{simulator}/", timeout=10).text, second)


def test_control_page_escapes_what_it_shows(simulator: str) -> None:
    page = httpx.get(f"{simulator}/", params={"msg": "<script>alert(1)</script>"}).text
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_card_query_is_keyed_by_the_authorization_and_the_old_trade_number_form_is_refused(
    simulator: str, credentials: EcpayCredentials, receiver: Receiver, wait_for: Wait
) -> None:
    """CreditDetail/QueryTrade/V2 as ECPay documents it (?p=2894): CreditRefundId (the gwsr
    ReturnURL brought with NeedExtraPaidInfo=Y), CreditAmount, CreditCheckCode. The form
    Fluxus used to send (MerchantTradeNo, TradeNo, TimeStamp) gets ECPay's failure answer."""
    no = trade_no()
    checkout(credentials, order(receiver, no, total_amount=1000,
                                choose_payment=ChoosePayment.CREDIT, need_extra_paid_info=True))
    control(simulator, no, "pay")
    post = wait_for(lambda: receiver.at(f"/return/{no}"), what="ReturnURL")[0]
    gwsr = verify_notification(post.form, credentials)["gwsr"]
    assert gwsr.isdigit() and post.form["amount"] == "1000"
    keys = (credentials.hash_key, credentials.hash_iv)
    url = simulator + QUERY_CARD_TRADE_PATH

    def ask(fields: dict[str, str]) -> dict[str, Any]:
        answer = httpx.post(url, data=sign(fields, *keys), timeout=5)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    documented = {"MerchantID": credentials.merchant_id, "CreditRefundId": gwsr,
                  "CreditAmount": "1000", "CreditCheckCode": SIM_CREDIT_CHECK_CODE}
    found = ask(documented)
    assert found["RtnMsg"] == "" and found["RtnValue"]["amount"] == "1000"
    # Auto-capture requested the capture: 要關帳 is under close_data, as the zh page lists it.
    assert found["RtnValue"]["status"] == "已授權"
    assert [c["status"] for c in found["RtnValue"]["close_data"]] == ["要關帳"]

    old = {"MerchantID": credentials.merchant_id, "MerchantTradeNo": no,
           "TradeNo": sim_order(simulator, no)["trade_no"], "TimeStamp": str(int(time.time()))}
    assert ask(old) == {"RtnMsg": "error", "RtnValue": ""}
    assert ask(documented | old) == {"RtnMsg": "error", "RtnValue": ""}
    assert ask(documented | {"CreditCheckCode": "00000000"})["RtnMsg"] == "error"
    assert ask(documented | {"CreditAmount": "999"})["RtnMsg"] == "error_nopay"
    assert ask(documented | {"MerchantID": "3000000"})["RtnMsg"] == "error_Stop"
