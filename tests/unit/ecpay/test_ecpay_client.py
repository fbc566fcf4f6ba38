"""Query client against an httpx.MockTransport (ECPay itself is unreachable from here)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote

import httpx
import pytest

from services.core.clock import FixedClock
from services.ecpay.checkmac import sign, verify_check_mac_value
from services.ecpay.client import EcpayClient
from services.ecpay.credentials import EcpayCredentials
from services.ecpay.errors import EcpayResponseError, EcpayUnavailable

pytestmark = pytest.mark.unit

CREDS = EcpayCredentials.stage("https://gateway.test")
NOW = datetime(2025, 3, 1, 4, 0, tzinfo=UTC)
TRADE = {
    "MerchantID": "3002607",
    "MerchantTradeNo": "FX9",
    "StoreID": "",
    "TradeNo": "2503011200001234",
    "TradeAmt": "990",
    "PaymentDate": "2025/03/01 12:01:02",
    "PaymentType": "Credit_CreditCard",
    "HandlingCharge": "27",
    "PaymentTypeChargeFee": "27",
    "TradeDate": "2025/03/01 12:00:00",
    "TradeStatus": "1",
    "ItemName": "Pro+Plan 1年",
    "CustomField1": "",
    "CustomField2": "",
    "CustomField3": "",
    "CustomField4": "",
}


def _body(fields: dict[str, str]) -> str:
    return "&".join(f"{k}={quote(v, safe='+')}" for k, v in fields.items())


def _client(
    handler: Callable[[httpx.Request], httpx.Response],
    sleeps: list[float] | None = None,
    **kwargs: object,
) -> EcpayClient:
    record = sleeps if sleeps is not None else []
    return EcpayClient(
        CREDS,
        transport=httpx.MockTransport(handler),
        clock=FixedClock(NOW),
        sleep=record.append,
        **kwargs,
    )  # type: ignore[arg-type]


def test_query_trade_sends_a_signed_form_and_returns_typed_info() -> None:
    seen: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/Cashier/QueryTradeInfo/V5"
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        seen.append(dict(parse_qsl(request.content.decode())))
        return httpx.Response(200, text=_body(sign(TRADE, CREDS.hash_key, CREDS.hash_iv)))

    with _client(handler) as client:
        info = client.query_trade("FX9")
    sent = seen[0]
    assert sent["MerchantTradeNo"] == "FX9"
    assert sent["TimeStamp"] == str(int(NOW.timestamp()))
    assert verify_check_mac_value(sent, CREDS.hash_key, CREDS.hash_iv)
    assert info.paid and info.trade_amt == 990
    # A literal '+' in ECPay's answer is data (SDK_PHP protects it the same way).
    assert info.item_name == "Pro+Plan 1年"
    assert info.payment_date is not None and info.payment_date.utcoffset() is not None


@pytest.mark.parametrize(
    "answer",
    [
        _body(sign(TRADE, "x" * 16, "y" * 16)),  # signed with another key
        _body(TRADE),  # no CheckMacValue at all
        _body(sign(TRADE, CREDS.hash_key, CREDS.hash_iv) | {"TradeAmt": "1"}),  # tampered
        "10200073|CheckMacValue Error",  # ECPay's refusal
    ],
)
def test_unverifiable_or_refused_answers_raise(answer: str) -> None:
    with (
        _client(lambda r: httpx.Response(200, text=answer)) as client,
        pytest.raises(EcpayResponseError),
    ):
        client.query_trade("FX9")


def test_5xx_is_retried_with_backoff_then_succeeds() -> None:
    answers = [
        httpx.Response(502),
        httpx.Response(503),
        httpx.Response(200, text=_body(sign(TRADE, CREDS.hash_key, CREDS.hash_iv))),
    ]
    sleeps: list[float] = []
    with _client(lambda r: answers.pop(0), sleeps, backoff_seconds=0.5) as client:
        assert client.query_trade("FX9").paid
    assert sleeps == [0.5, 1.0]


def test_transport_errors_exhaust_the_attempts() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ConnectTimeout("timed out", request=request)

    with _client(handler, max_attempts=3) as client, pytest.raises(EcpayUnavailable):
        client.query_trade("FX9")
    assert len(calls) == 3


def test_403_rate_limit_is_not_retried() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(403, text="Forbidden")

    with _client(handler) as client, pytest.raises(EcpayResponseError):
        client.query_trade("FX9")
    assert len(calls) == 1


def test_query_period_parses_json_with_mixed_types() -> None:
    answer = {
        "MerchantID": "3002607",
        "MerchantTradeNo": "FX9",
        "TradeNo": "2503011200001234",
        "RtnCode": 1,
        "PeriodType": "M",
        "Frequency": 1,
        "ExecTimes": "12",
        "PeriodAmount": 990,
        "amount": 990,
        "TotalSuccessTimes": 2,
        "TotalSuccessAmount": 1980,
        "ExecStatus": "1",
        "ExecLog": [
            {
                "RtnCode": 1,
                "amount": 990,
                "gwsr": 11,
                "auth_code": "777777",
                "process_date": "2025/03/01 12:00:00",
            }
        ],
    }

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/Cashier/QueryCreditCardPeriodInfo"
        return httpx.Response(200, text=json.dumps(answer))

    with _client(handler) as client:
        info = client.query_period("FX9")
    assert (info.exec_times, info.total_success_times, info.period_amount) == (12, 2, 990)
    assert info.exec_log[0].gwsr == "11"


@pytest.mark.parametrize("answer", ["not json", "[1]", json.dumps({"MerchantID": "3002607"})])
def test_bad_period_answers_raise(answer: str) -> None:
    with (
        _client(lambda r: httpx.Response(200, text=answer)) as client,
        pytest.raises(EcpayResponseError),
    ):
        client.query_period("FX9")
