"""CreditCardPeriodAction signing and parsing, and PeriodInfo's status (MockTransport)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest

from services.core.clock import FixedClock
from services.ecpay.checkmac import sign, verify_check_mac_value
from services.ecpay.client import EcpayClient
from services.ecpay.credentials import PERIOD_ACTION_PATH, EcpayCredentials
from services.ecpay.errors import EcpayRefused, EcpayResponseError
from services.ecpay.query import (
    RTN_PERIOD_ALREADY_CANCELLED,
    PeriodInfo,
    TradeInfo,
    is_already_cancelled,
)

pytestmark = pytest.mark.unit

CREDS = EcpayCredentials.stage("https://gateway.test")
NOW = datetime(2025, 3, 1, 4, 0, tzinfo=UTC)
OK = {"RtnCode": "1", "RtnMsg": "成功", "MerchantID": "3002607", "MerchantTradeNo": "FX9"}


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> EcpayClient:
    return EcpayClient(
        CREDS, transport=httpx.MockTransport(handler), clock=FixedClock(NOW), sleep=lambda s: None
    )


def _answer(fields: dict[str, str]) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(200, text=urlencode(fields))


@pytest.mark.parametrize(("action", "platform_id"), [("Cancel", ""), ("ReAuth", "3002599")])
def test_period_action_posts_a_signed_form(action: str, platform_id: str) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text=urlencode(OK))

    with _client(handler) as client:
        result = client.period_action("FX9", action, platform_id=platform_id)
    sent = dict(parse_qsl(seen[0].content.decode()))
    assert seen[0].url.path == PERIOD_ACTION_PATH == "/Cashier/CreditCardPeriodAction"
    expected = {"MerchantID", "MerchantTradeNo", "Action", "TimeStamp", "CheckMacValue"}
    assert set(sent) == expected | ({"PlatformID"} if platform_id else set())
    assert (sent["Action"], sent["MerchantTradeNo"]) == (action, "FX9")
    assert sent["TimeStamp"] == str(int(NOW.timestamp()))
    assert verify_check_mac_value(sent, CREDS.hash_key, CREDS.hash_iv)
    assert result.ok and (result.rtn_code, result.rtn_msg) == (1, "成功")
    assert result.merchant_trade_no == "FX9"


def test_unknown_action_is_refused_before_sending() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, text="RtnCode=1")

    with (
        _client(handler) as client,
        pytest.raises(ValueError, match="Pause"),
    ):
        client.period_action("FX9", "Pause")
    assert calls == []


def test_refusal_keeps_ecpays_code_and_tells_already_cancelled_apart() -> None:
    refused = OK | {"RtnCode": str(RTN_PERIOD_ALREADY_CANCELLED), "RtnMsg": "already cancelled"}
    with _client(_answer(refused)) as client, pytest.raises(EcpayRefused) as caught:
        client.period_action("FX9", "Cancel")
    assert caught.value.rtn_code == RTN_PERIOD_ALREADY_CANCELLED
    assert str(RTN_PERIOD_ALREADY_CANCELLED) in caught.value.message
    assert is_already_cancelled(caught.value)

    other = OK | {"RtnCode": "10100254", "RtnMsg": "latest charge did not fail"}
    with _client(_answer(other)) as client, pytest.raises(EcpayRefused) as caught:
        client.period_action("FX9", "ReAuth")
    assert caught.value.rtn_code == 10100254 and not is_already_cancelled(caught.value)


@pytest.mark.parametrize(
    "body",
    [
        "10200073|CheckMacValue Error",  # plain-text refusal
        urlencode({"RtnMsg": "no code"}),  # no RtnCode
        urlencode(sign(OK, "x" * 16, "y" * 16)),  # signed, but with another key
    ],
)
def test_unusable_answers_raise(body: str) -> None:
    with (
        _client(lambda r: httpx.Response(200, text=body)) as client,
        pytest.raises(EcpayResponseError),
    ):
        client.period_action("FX9", "Cancel")


def test_a_correctly_signed_answer_is_accepted() -> None:
    with _client(_answer(sign(OK, CREDS.hash_key, CREDS.hash_iv))) as client:
        assert client.period_action("FX9", "Cancel").ok


def _period(status: str, log: list[dict[str, Any]] | None = None) -> PeriodInfo:
    data = {
        "MerchantID": "3002607",
        "MerchantTradeNo": "FX9",
        "TradeNo": "2503011200001234",
        "RtnCode": 1,
        "PeriodType": "M",
        "Frequency": 1,
        "ExecTimes": 3,
        "PeriodAmount": 990,
        "amount": 990,
        "ExecStatus": status,
        "ExecLog": log or [],
    }
    return PeriodInfo.from_json(json.loads(json.dumps(data)))


@pytest.mark.parametrize(
    ("status", "cancelled", "running", "finished"),
    [("0", True, False, False), ("1", False, True, False), ("2", False, False, True)],
)
def test_period_info_exec_status(
    status: str, cancelled: bool, running: bool, finished: bool
) -> None:
    info = _period(status)
    assert info.exec_status == status
    assert (info.cancelled, info.running, info.finished) == (cancelled, running, finished)


def test_period_info_exec_log_carries_each_charge() -> None:
    log = [
        {
            "RtnCode": 1,
            "RtnMsg": "交易成功",
            "amount": 990,
            "gwsr": 11,
            "auth_code": "777777",
            "process_date": "2025/03/01 12:00:00",
            "TradeNo": "2503011200001234",
        },
        {
            "RtnCode": 10100058,
            "RtnMsg": "付款失敗",
            "amount": 990,
            "gwsr": 12,
            "auth_code": "",
            "process_date": "2025/04/01 12:00:00",
            "TradeNo": "2503011200001234",
        },
    ]
    first, second = _period("1", log).exec_log
    assert (first.gwsr, first.amount, first.rtn_code, first.paid) == ("11", 990, 1, True)
    assert (second.gwsr, second.rtn_code, second.rtn_msg, second.paid) == (
        "12",
        10100058,
        "付款失敗",
        False,
    )
    assert second.process_date == datetime(2025, 4, 1, 4, 0, tzinfo=UTC)


def test_trade_info_not_found_status() -> None:
    fields = {
        "MerchantID": "3002607",
        "MerchantTradeNo": "NOPE",
        "TradeAmt": "0",
        "TradeStatus": "10200047",
    }
    info = TradeInfo.from_form(fields)
    assert info.not_found and not info.paid
    assert not TradeInfo.from_form(fields | {"TradeStatus": "0"}).not_found
