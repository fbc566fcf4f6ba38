"""End to end against a real simulator process and a real merchant receiver on loopback."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from services.core.clock import SystemClock
from services.ecpay.checkout import CheckoutOrder, ChoosePayment, PeriodicPlan, build_checkout
from services.ecpay.client import EcpayClient
from services.ecpay.credentials import EcpayCredentials
from services.ecpay.notifications import (
    PaymentInfoNotification,
    PaymentNotification,
    PeriodNotification,
    verify_notification,
)

pytestmark = pytest.mark.integration

# The receiver fixture's type lives in conftest, which tests must not import.
Receiver = Any
Wait = Callable[..., Any]


def _trade_no() -> str:
    return "IT" + uuid.uuid4().hex[:18].upper()


def _order(receiver: Receiver, no: str, **changes: Any) -> CheckoutOrder:
    order = CheckoutOrder(
        merchant_trade_no=no,
        total_amount=990,
        trade_desc="Fluxus 訂閱",
        item_name="Fluxus Pro 月費",
        return_url=f"{receiver.base_url}/return/{no}",
        choose_payment=ChoosePayment.CREDIT,
        custom_fields=("sub-42",),
    )
    return dataclasses.replace(order, **changes)


def _checkout(credentials: EcpayCredentials, order: CheckoutOrder) -> httpx.Response:
    form = build_checkout(credentials, order, now=SystemClock())
    return httpx.post(form.action_url, data=dict(form.fields), timeout=10)


def _sim(simulator: str, no: str, action: str, body: dict[str, Any] | None = None) -> Any:
    response = httpx.post(f"{simulator}/_sim/orders/{no}/{action}", json=body or {}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def _notifications(simulator: str, no: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{simulator}/_sim/notifications", params={"merchant_trade_no": no})
    return response.json()["notifications"]


def test_checkout_with_a_bad_mac_is_refused(
    simulator: str, credentials: EcpayCredentials, receiver: Receiver
) -> None:
    no = _trade_no()
    form = build_checkout(credentials, _order(receiver, no), now=SystemClock())
    forged = dict(form.fields, TotalAmount="1")
    response = httpx.post(form.action_url, data=forged, timeout=10)
    # Like ECPay: an HTML error page with HTTP 200, never a 4xx.
    assert response.status_code == 200
    assert "10200073|CheckMacValue Error" in response.text
    assert httpx.get(f"{simulator}/_sim/orders/{no}").status_code == 404


def test_duplicate_merchant_trade_no_is_refused(
    credentials: EcpayCredentials, receiver: Receiver
) -> None:
    order = _order(receiver, _trade_no())
    assert _checkout(credentials, order).status_code == 200
    again = _checkout(credentials, order)
    assert again.status_code == 200
    assert again.headers["content-type"].startswith("text/html")
    assert "10200047" in again.text and "MerchantTradeNo is duplicate" in again.text


def test_paid_checkout_notifies_return_url_with_a_verifiable_form(
    simulator: str, credentials: EcpayCredentials, receiver: Receiver, wait_for: Wait
) -> None:
    no = _trade_no()
    page = _checkout(credentials, _order(receiver, no))
    assert page.status_code == 200 and no in page.text
    _sim(simulator, no, "pay")
    post = wait_for(lambda: receiver.at(f"/return/{no}"), what="ReturnURL post")[0]
    note = PaymentNotification.from_form(verify_notification(post.form, credentials))
    assert note.paid and not note.simulate_paid
    assert (note.merchant_trade_no, note.trade_amt) == (no, 990)
    assert note.payment_type == "Credit_CreditCard"
    assert note.custom_fields[0] == "sub-42"
    delivered = wait_for(
        lambda: [n for n in _notifications(simulator, no) if n["state"] == "acknowledged"],
        what="acknowledgement",
    )
    assert delivered[0]["attempts"][-1]["body"] == "1|OK"


def test_notification_not_answered_1_ok_is_sent_again(
    simulator: str, credentials: EcpayCredentials, receiver: Receiver, wait_for: Wait
) -> None:
    no = _trade_no()
    receiver.scripted[f"/return/{no}"] = ["0|not stored", "OK"]
    _checkout(credentials, _order(receiver, no))
    _sim(simulator, no, "pay")
    posts = wait_for(
        lambda: len(receiver.at(f"/return/{no}")) >= 3 and receiver.at(f"/return/{no}"),
        what="two re-sends",
    )
    for post in posts:
        verify_notification(post.form, credentials)
    assert posts[0].form["RtnMsg"] == "交易成功" and posts[1].form["RtnMsg"] == "paid"
    rows = wait_for(
        lambda: [n for n in _notifications(simulator, no) if n["state"] == "acknowledged"],
        what="acknowledged after re-sends",
    )
    assert [a["body"] for a in rows[0]["attempts"]] == ["0|not stored", "OK", "1|OK"]


def test_query_trade_info_reflects_the_payment(
    simulator: str, credentials: EcpayCredentials, receiver: Receiver
) -> None:
    no = _trade_no()
    _checkout(credentials, _order(receiver, no))
    with EcpayClient(credentials, timeout=5) as client:
        before = client.query_trade(no)
        _sim(simulator, no, "pay")
        after = client.query_trade(no)
    assert before.trade_status == "0" and not before.paid
    assert after.paid and after.trade_amt == 990 and after.item_name == "Fluxus Pro 月費"
    assert after.payment_date is not None and after.trade_no == before.trade_no


def test_atm_code_issuance_sends_payment_info_then_payment(
    simulator: str, credentials: EcpayCredentials, receiver: Receiver, wait_for: Wait
) -> None:
    no = _trade_no()
    order = _order(
        receiver,
        no,
        choose_payment=ChoosePayment.ATM,
        atm_expire_days=3,
        payment_info_url=f"{receiver.base_url}/info/{no}",
    )
    _checkout(credentials, order)
    _sim(simulator, no, "issue-code")
    post = wait_for(lambda: receiver.at(f"/info/{no}"), what="PaymentInfoURL post")[0]
    info = PaymentInfoNotification.from_form(verify_notification(post.form, credentials))
    assert info.issued and info.method == "ATM"
    assert info.bank_code and info.v_account.isdigit() and info.expires_at is not None
    _sim(simulator, no, "pay")
    paid = wait_for(lambda: receiver.at(f"/return/{no}"), what="ReturnURL post")[0]
    note = PaymentNotification.from_form(verify_notification(paid.form, credentials))
    assert note.paid and note.payment_type.startswith("ATM_")


def test_periodic_charges_send_period_return_url(
    simulator: str, credentials: EcpayCredentials, receiver: Receiver, wait_for: Wait
) -> None:
    no = _trade_no()
    plan = PeriodicPlan(990, "M", 1, 3, f"{receiver.base_url}/period/{no}")
    _checkout(credentials, _order(receiver, no, periodic=plan))
    _sim(simulator, no, "pay")
    _sim(simulator, no, "period")
    _sim(simulator, no, "period")
    posts = wait_for(
        lambda: len(receiver.at(f"/period/{no}")) >= 2 and receiver.at(f"/period/{no}"),
        what="two PeriodReturnURL posts",
    )
    notes = [PeriodNotification.from_form(verify_notification(p.form, credentials)) for p in posts]
    assert sorted(n.total_success_times for n in notes) == [2, 3]
    assert all(n.paid and n.amount == 990 and n.exec_times == 3 for n in notes)
    refused = httpx.post(f"{simulator}/_sim/orders/{no}/period", json={})
    assert refused.status_code == 409
    with EcpayClient(credentials, timeout=5) as client:
        info = client.query_period(no)
    assert (info.total_success_times, info.exec_status, len(info.exec_log)) == (3, "2", 3)
