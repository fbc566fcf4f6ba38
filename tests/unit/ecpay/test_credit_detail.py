"""CreditDetail DoAction/QueryTrade: the client against the simulator app in-process, ECPay's
state rules (N / E+N / R), the capture window, partial-refund limits and non-card trades."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from flask import Flask

from services.core.clock import FixedClock
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
        now=lambda: NOW,
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
    trade = card.query_trade("CD1", trade_no)
    assert (trade.state, trade.amount, trade.refundable) == (STATE_CAPTURE_REQUESTED, 1000, 1000)
    # R for everything while the capture is only requested is refused, as is N.
    assert refused_code(lambda: card.do_action("CD1", trade_no, "R", 1000)) == RTN_WRONG_STATE
    assert refused_code(lambda: card.do_action("CD1", trade_no, "N", 1000)) == RTN_WRONG_STATE
    card.do_action("CD1", trade_no, "E", 1000)
    assert card.query_trade("CD1", trade_no).state == STATE_AUTHORIZED
    card.do_action("CD1", trade_no, "N", 1000)
    done = card.query_trade("CD1", trade_no)
    assert (done.state, done.money_back, done.refundable) == (STATE_DROPPED, 1000, 0)
    assert refused_code(lambda: card.do_action("CD1", trade_no, "R", 1)) == RTN_WRONG_STATE


def test_partial_refunds_up_to_the_captured_amount_and_not_a_dollar_more(
    app: Flask, card: CreditDetailClient
) -> None:
    trade_no = paid(app, "CD2")
    card.do_action("CD2", trade_no, "R", 300)
    assert card.query_trade("CD2", trade_no).close_amount == 700
    advance(app, 11 * 3600)  # past 20:15 Taipei: the batch captured the rest
    trade = card.query_trade("CD2", trade_no)
    assert (trade.state, trade.close_amount, trade.money_back) == (STATE_CAPTURED, 700, 300)
    assert refused_code(lambda: card.do_action("CD2", trade_no, "R", 701)) == RTN_AMOUNT
    card.do_action("CD2", trade_no, "R", 700)
    assert card.query_trade("CD2", trade_no).refundable == 0
    assert refused_code(lambda: card.do_action("CD2", trade_no, "R", 1)) == RTN_AMOUNT


def test_doaction_is_refused_during_the_capture_batch(app: Flask, card: CreditDetailClient) -> None:
    trade_no = paid(app, "CD3")
    advance(app, 10 * 3600 + 20 * 60)  # 20:20 Taipei
    assert refused_code(lambda: card.do_action("CD3", trade_no, "R", 100)) == (
        RTN_IN_CAPTURE_WINDOW
    )
    advance(app, 11 * 60)  # 20:31
    card.do_action("CD3", trade_no, "R", 100)
    assert card.query_trade("CD3", trade_no).state == STATE_CAPTURED


def test_non_card_trades_have_no_refund_api(app: Flask, card: CreditDetailClient) -> None:
    trade_no = paid(app, "CD4", method="ATM")
    assert refused_code(lambda: card.do_action("CD4", trade_no, "R", 1000)) == RTN_NOT_CARD
    assert refused_code(lambda: card.query_trade("CD4", trade_no)) == RTN_NOT_CARD


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
    assert card.query_trade("CD6", trade_no).state == STATE_AUTHORIZED
    assert refused_code(lambda: card.do_action("CD6", trade_no, "R", 100)) == RTN_WRONG_STATE
    assert refused_code(lambda: card.do_action("CD6", trade_no, "N", 999)) == RTN_AMOUNT
    card.do_action("CD6", trade_no, "C", 1000)
    assert card.query_trade("CD6", trade_no).state == STATE_CAPTURE_REQUESTED


def test_a_wrong_signature_or_trade_number_is_refused(app: Flask, card: CreditDetailClient) -> None:
    trade_no = paid(app, "CD7")
    forged = CreditDetailClient(
        CREDS.gateway_url, CREDS.merchant_id, "x" * 16, "y" * 16, http=card._http, now=lambda: NOW
    )
    assert refused_code(lambda: forged.do_action("CD7", trade_no, "R", 1)) == "10200073"
    assert refused_code(lambda: card.do_action("CD7", "0" * 16, "R", 1)) != "1"
    assert card.query_trade("CD7", trade_no).refundable == 1000


def test_faults_an_outage_and_a_lost_answer(app: Flask, card: CreditDetailClient) -> None:
    trade_no = paid(app, "CD8")
    app.test_client().post("/_sim/credit/faults", json={"kind": "unavailable"})
    with pytest.raises(CreditDetailUnavailable):
        card.do_action("CD8", trade_no, "R", 100)
    assert card.query_trade("CD8", trade_no).refundable == 1000  # nothing happened
    app.test_client().post("/_sim/credit/faults", json={"kind": "lose"})
    with pytest.raises(CreditDetailUnavailable):
        card.do_action("CD8", trade_no, "R", 100)
    assert card.query_trade("CD8", trade_no).refundable == 900  # it happened, unanswered


def test_the_timestamp_of_a_query_must_be_fresh(app: Flask, card: CreditDetailClient) -> None:
    trade_no = paid(app, "CD9")
    stale = CreditDetailClient(
        CREDS.gateway_url,
        CREDS.merchant_id,
        CREDS.hash_key,
        CREDS.hash_iv,
        http=card._http,
        now=lambda: NOW - timedelta(minutes=5),
    )
    assert refused_code(lambda: stale.query_trade("CD9", trade_no)) == "10200050"


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
