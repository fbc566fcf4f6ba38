"""CreditDetail DoAction/QueryTrade: the client against the simulator app in-process, ECPay's
state rules (N / E+N / R), the capture window, partial-refund limits and non-card trades; the
QueryTrade request exactly as ECPay documents it (?p=2894: keyed by the authorization)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from flask import Flask

from services.core.clock import FixedClock
from services.core.config import SIM_CREDIT_CHECK_CODE
from services.ecpay.checkout import CheckoutOrder, ChoosePayment, build_checkout
from services.ecpay.credentials import EcpayCredentials
from services.ecpay.credit_detail import (
    STATE_AUTHORIZED,
    STATE_CAPTURE_REQUESTED,
    STATE_CAPTURED,
    STATE_DROPPED,
    CardTrade,
    CreditDetailClient,
    CreditDetailRefused,
    CreditDetailUnavailable,
    capture_window_end,
    in_capture_window,
    plan_refund,
)
from services.ecpay.simulator.app import create_app, simulator_of
from services.ecpay.simulator.card_ledger import (
    RTN_AMOUNT,
    RTN_IN_CAPTURE_WINDOW,
    RTN_NOT_CARD,
    RTN_PARTIAL_REFUSED,
    RTN_WRONG_STATE,
)

pytestmark = pytest.mark.unit

NOW = datetime(2025, 5, 1, 2, 0, tzinfo=UTC)  # 10:00 in Taipei
CREDS = EcpayCredentials.stage("http://sim.test")


@pytest.fixture
def app() -> Iterator[Flask]:
    app = create_app(clock=FixedClock(NOW), start_notifier=False)
    yield app
    simulator_of(app).notifier.stop()


@pytest.fixture
def card(app: Flask) -> Iterator[CreditDetailClient]:
    http = httpx.Client(transport=httpx.WSGITransport(app=app))
    yield CreditDetailClient(
        CREDS.gateway_url,
        CREDS.merchant_id,
        CREDS.hash_key,
        CREDS.hash_iv,
        http=http,
        credit_check_code=SIM_CREDIT_CHECK_CODE,
    )
    http.close()


def paid(app: Flask, no: str, amount: int = 1000, method: str = "Credit", **changes: Any) -> str:
    """A checkout paid at the simulator; its TradeNo."""
    choose = ChoosePayment.CREDIT if method == "Credit" else ChoosePayment.ALL
    form = build_checkout(
        CREDS,
        CheckoutOrder(no, amount, "d", "i", "http://shop.test/r", choose_payment=choose, **changes),
        now=NOW,
    )
    client = app.test_client()
    assert client.post("/Cashier/AioCheckOut/V5", data=dict(form.fields)).status_code == 200
    if method != "Credit":
        assert (
            client.post(f"/_sim/orders/{no}/issue-code", json={"method": method}).status_code == 200
        )
    answer = client.post(f"/_sim/orders/{no}/pay", json={"method": method})
    assert answer.status_code == 200, answer.text
    return str(answer.get_json()["order"]["trade_no"])


def query(app: Flask, card: CreditDetailClient, no: str) -> CardTrade:
    """QueryTrade by the order's card authorization (its gwsr) and amount."""
    order = simulator_of(app).get(no)
    return card.query_trade(order.gwsr, order.amount)


def advance(app: Flask, seconds: float) -> None:
    assert (
        app.test_client().post("/_sim/clock", json={"advance_seconds": seconds}).status_code == 200
    )


def refused_code(call: Any) -> str:
    with pytest.raises(CreditDetailRefused) as caught:
        call()
    return caught.value.rtn_code


# -- the pure choice -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("state", "close", "amount", "actions"),
    [
        (STATE_AUTHORIZED, 0, 1000, ("N",)),
        (STATE_CAPTURE_REQUESTED, 1000, 1000, ("E", "N")),
        (STATE_CAPTURE_REQUESTED, 1000, 300, ("R",)),
        (STATE_CAPTURE_REQUESTED, 700, 700, ("R",)),  # the rest after an earlier partial refund
        (STATE_CAPTURED, 1000, 1000, ("R",)),
        (STATE_CAPTURED, 1000, 1, ("R",)),
    ],
)
def test_the_refund_follows_the_trade_state(
    state: str, close: int, amount: int, actions: tuple[str, ...]
) -> None:
    assert plan_refund(CardTrade("T", state, 1000, close), amount) == actions


@pytest.mark.parametrize(
    ("trade", "amount"),
    [
        (CardTrade("T", STATE_CAPTURED, 1000, 400), 401),  # more than is left
        (CardTrade("T", STATE_AUTHORIZED, 1000, 0), 300),  # partial before a capture request
        (CardTrade("T", STATE_DROPPED, 1000, 0), 1000),  # already given back
    ],
)
def test_no_plan_for_what_ecpay_cannot_do(trade: CardTrade, amount: int) -> None:
    with pytest.raises(ValueError):
        plan_refund(trade, amount)


@pytest.mark.parametrize(
    ("taipei", "inside"),
    [
        ("20:13:59", False),
        ("20:14:00", True),
        ("20:15:00", True),
        ("20:29:59", True),
        ("20:30:59", True),
        ("20:31:00", False),
        ("08:15:00", False),
    ],
)
def test_the_capture_window_is_taipei_evening_with_a_minute_either_side(
    taipei: str, inside: bool
) -> None:
    moment = datetime.fromisoformat(f"2025-05-01T{taipei}+08:00")
    assert in_capture_window(moment) is inside
    if inside:
        assert capture_window_end(moment) == datetime(2025, 5, 1, 12, 31, tzinfo=UTC)


# -- against the simulator -----------------------------------------------------------------
def test_a_full_refund_the_same_day_is_undo_capture_then_drop(
    app: Flask, card: CreditDetailClient
) -> None:
    trade_no = paid(app, "CD1")
    trade = query(app, card, "CD1")
    assert (trade.state, trade.amount, trade.refundable) == (STATE_CAPTURE_REQUESTED, 1000, 1000)
    # R for everything while the capture is only requested is refused, as is N.
    assert refused_code(lambda: card.do_action("CD1", trade_no, "R", 1000)) == RTN_WRONG_STATE
    assert refused_code(lambda: card.do_action("CD1", trade_no, "N", 1000)) == RTN_WRONG_STATE
    card.do_action("CD1", trade_no, "E", 1000)
    assert query(app, card, "CD1").state == STATE_AUTHORIZED
    card.do_action("CD1", trade_no, "N", 1000)
    done = query(app, card, "CD1")
    assert (done.state, done.money_back, done.refundable) == (STATE_DROPPED, 1000, 0)
    assert refused_code(lambda: card.do_action("CD1", trade_no, "R", 1)) == RTN_WRONG_STATE


def test_partial_refunds_up_to_the_captured_amount_and_not_a_dollar_more(
    app: Flask, card: CreditDetailClient
) -> None:
    trade_no = paid(app, "CD2")
    card.do_action("CD2", trade_no, "R", 300)
    assert query(app, card, "CD2").close_amount == 700
    advance(app, 11 * 3600)  # past 20:15 Taipei: the batch captured the rest
    trade = query(app, card, "CD2")
    assert (trade.state, trade.close_amount, trade.money_back) == (STATE_CAPTURED, 700, 300)
    assert refused_code(lambda: card.do_action("CD2", trade_no, "R", 701)) == RTN_AMOUNT
    card.do_action("CD2", trade_no, "R", 700)
    assert query(app, card, "CD2").refundable == 0
    assert refused_code(lambda: card.do_action("CD2", trade_no, "R", 1)) == RTN_AMOUNT


def test_doaction_is_refused_during_the_capture_batch(app: Flask, card: CreditDetailClient) -> None:
    trade_no = paid(app, "CD3")
    advance(app, 10 * 3600 + 20 * 60)  # 20:20 Taipei
    assert refused_code(lambda: card.do_action("CD3", trade_no, "R", 100)) == (
        RTN_IN_CAPTURE_WINDOW
    )
    advance(app, 11 * 60)  # 20:31
    card.do_action("CD3", trade_no, "R", 100)
    assert query(app, card, "CD3").state == STATE_CAPTURED


def test_non_card_trades_have_no_refund_api(app: Flask, card: CreditDetailClient) -> None:
    trade_no = paid(app, "CD4", method="ATM")
    assert refused_code(lambda: card.do_action("CD4", trade_no, "R", 1000)) == RTN_NOT_CARD
    # No card authorization, so nothing QueryTrade could be asked about.
    assert simulator_of(app).get("CD4").gwsr == ""
    assert refused_code(lambda: card.query_trade("10000000", 1000)) == "error_nopay"


def test_installments_are_refunded_in_full_only(app: Flask, card: CreditDetailClient) -> None:
    trade_no = paid(app, "CD5")
    simulator_of(app).get("CD5").fields["CreditInstallment"] = "3"
    simulator_of(app).advance_clock(11 * 3600)
    assert refused_code(lambda: card.do_action("CD5", trade_no, "R", 100)) == RTN_PARTIAL_REFUSED
    card.do_action("CD5", trade_no, "R", 1000)


def test_without_auto_capture_an_authorization_is_dropped_or_captured(
    app: Flask, card: CreditDetailClient
) -> None:
    app.test_client().post("/_sim/credit/config", json={"auto_capture": False})
    trade_no = paid(app, "CD6")
    assert query(app, card, "CD6").state == STATE_AUTHORIZED
    assert refused_code(lambda: card.do_action("CD6", trade_no, "R", 100)) == RTN_WRONG_STATE
    assert refused_code(lambda: card.do_action("CD6", trade_no, "N", 999)) == RTN_AMOUNT
    card.do_action("CD6", trade_no, "C", 1000)
    assert query(app, card, "CD6").state == STATE_CAPTURE_REQUESTED


def test_a_wrong_signature_or_trade_number_is_refused(app: Flask, card: CreditDetailClient) -> None:
    trade_no = paid(app, "CD7")
    forged = CreditDetailClient(
        CREDS.gateway_url, CREDS.merchant_id, "x" * 16, "y" * 16, http=card._http,
        credit_check_code=SIM_CREDIT_CHECK_CODE,
    )
    assert refused_code(lambda: forged.do_action("CD7", trade_no, "R", 1)) == "10200073"
    order = simulator_of(app).get("CD7")
    assert refused_code(lambda: forged.query_trade(order.gwsr, 1000)) == "error"
    assert refused_code(lambda: card.do_action("CD7", "0" * 16, "R", 1)) != "1"
    assert query(app, card, "CD7").refundable == 1000


def test_faults_an_outage_and_a_lost_answer(app: Flask, card: CreditDetailClient) -> None:
    trade_no = paid(app, "CD8")
    app.test_client().post("/_sim/credit/faults", json={"kind": "unavailable"})
    with pytest.raises(CreditDetailUnavailable):
        card.do_action("CD8", trade_no, "R", 100)
    assert query(app, card, "CD8").refundable == 1000  # nothing happened
    app.test_client().post("/_sim/credit/faults", json={"kind": "lose"})
    with pytest.raises(CreditDetailUnavailable):
        card.do_action("CD8", trade_no, "R", 100)
    assert query(app, card, "CD8").refundable == 900  # it happened, unanswered


def test_a_query_needs_the_authorized_amount_and_the_merchant_check_code(
    app: Flask, card: CreditDetailClient
) -> None:
    paid(app, "CD9")
    order = simulator_of(app).get("CD9")
    assert refused_code(lambda: card.query_trade(order.gwsr, 999)) == "error_nopay"
    wrong = CreditDetailClient(
        CREDS.gateway_url, CREDS.merchant_id, CREDS.hash_key, CREDS.hash_iv, http=card._http,
        credit_check_code="11111111",
    )
    assert refused_code(lambda: wrong.query_trade(order.gwsr, 1000)) == "error"
    unset = CreditDetailClient(
        CREDS.gateway_url, CREDS.merchant_id, CREDS.hash_key, CREDS.hash_iv, http=card._http
    )
    with pytest.raises(CreditDetailRefused, match="CreditCheckCode"):
        unset.query_trade(order.gwsr, 1000)


def _documented_check_mac(params: dict[str, str], key: str, iv: str) -> str:
    """REFERENCE §1.1 written out again for plain ASCII values: sorted by name ignoring case,
    HashKey/HashIV around, URL-encoded, lower-cased, SHA256, upper-cased."""
    from urllib.parse import quote_plus

    joined = "&".join(f"{k}={params[k]}" for k in sorted(params, key=str.lower))
    raw = quote_plus(f"HashKey={key}&{joined}&HashIV={iv}").lower()
    return hashlib.sha256(raw.encode()).hexdigest().upper()


def test_query_trade_sends_exactly_the_documented_fields_signed() -> None:
    """ECPay ?p=2894 / ?p=16589: MerchantID, CreditRefundId (gwsr), CreditAmount,
    CreditCheckCode, CheckMacValue; no TimeStamp, no MerchantTradeNo or TradeNo. The answer's
    要關帳 is read from close_data, where the zh page lists it."""
    seen: list[httpx.Request] = []

    def ecpay(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"RtnMsg": "", "RtnValue": {
            "TradeID": "16754712", "amount": "1000", "clsamt": "1000",
            "authtime": "2025/05/01 10:00:00", "status": "已授權",
            "close_data": [{"status": "要關帳", "amount": "1000", "sno": "1", "datetime": ""}],
        }})

    http = httpx.Client(transport=httpx.MockTransport(ecpay))
    client = CreditDetailClient("https://payment.ecpay.com.tw", "3002607", "pwFHCqoQZGmho4w6",
                                "EkRm7iFT261dpevs", http=http, credit_check_code="59997889")
    trade = client.query_trade("16754712", 1000)
    assert (trade.state, trade.refundable) == (STATE_CAPTURE_REQUESTED, 1000)
    request = seen[0]
    assert str(request.url) == "https://payment.ecpay.com.tw/CreditDetail/QueryTrade/V2"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    form = dict(httpx.QueryParams(request.content.decode()))
    unsigned = {"MerchantID": "3002607", "CreditRefundId": "16754712", "CreditAmount": "1000",
                "CreditCheckCode": "59997889"}
    assert form == unsigned | {"CheckMacValue": _documented_check_mac(
        unsigned, "pwFHCqoQZGmho4w6", "EkRm7iFT261dpevs")}


@pytest.mark.parametrize(
    ("close_data", "state"),
    [
        ([], STATE_AUTHORIZED),
        ([{"status": "要關帳"}, {"status": "操作取消"}], STATE_AUTHORIZED),  # E undid it
        ([{"status": "要關帳"}, {"status": "退刷"}], STATE_CAPTURE_REQUESTED),
    ],
)
def test_the_capture_request_is_read_from_close_data(close_data: list, state: str) -> None:
    value = {"amount": "1000", "clsamt": "0", "status": STATE_AUTHORIZED,
             "close_data": close_data}
    assert CardTrade.from_json({"RtnMsg": "", "RtnValue": value}).state == state


def test_the_card_client_reaches_no_fluxus_core_module() -> None:
    from tests.unit.ecpay.test_einvoice_independence import _imports, _module_file

    seen: set[str] = set()
    todo = ["services.ecpay.credit_detail"]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            path = _module_file(name)
            todo += sorted(_imports(path)) if path is not None else []
    reached = {name for name in seen if _module_file(name) is not None}
    assert "services.ecpay.checkmac" in reached
    assert not [name for name in reached if name.startswith("services.core")], sorted(reached)
