"""httpx client for ECPay's server-to-server queries: signed, timed out, bounded retries."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import httpx

from services.core.clock import Clock, SystemClock
from services.core.errors import ValidationError
from services.ecpay.checkmac import CHECK_MAC_FIELD, sign, verify_check_mac_value
from services.ecpay.credentials import (
    PERIOD_ACTION_PATH,
    QUERY_PERIOD_PATH,
    QUERY_TRADE_PATH,
    EcpayCredentials,
)
from services.ecpay.errors import EcpayRefused, EcpayResponseError, EcpayUnavailable
from services.ecpay.query import (
    PERIOD_ACTIONS,
    PeriodActionResult,
    PeriodInfo,
    TradeInfo,
    parse_ecpay_form_body,
)

log = logging.getLogger(__name__)


class EcpayClient:
    """Queries one merchant account. Inject ``transport`` in tests (httpx.MockTransport)."""

    def __init__(
        self,
        credentials: EcpayCredentials,
        *,
        timeout: float = 10.0,
        max_attempts: int = 3,
        backoff_seconds: float = 0.5,
        transport: httpx.BaseTransport | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.credentials = credentials
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self._clock = clock or SystemClock()
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=credentials.gateway_url,
            timeout=timeout,
            transport=transport,
            headers={"Accept": "text/html, application/json, */*"},
        )

    def __enter__(self) -> EcpayClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _signed(self, merchant_trade_no: str, platform_id: str, **extra: str) -> dict[str, str]:
        params = {
            "MerchantID": self.credentials.merchant_id,
            "MerchantTradeNo": merchant_trade_no,
            **extra,
            # ECPay refuses a TimeStamp older than 3 minutes.
            "TimeStamp": str(int(self._clock.now().timestamp())),
        }
        if platform_id:
            params["PlatformID"] = platform_id
        return sign(params, self.credentials.hash_key, self.credentials.hash_iv)

    def _post(self, path: str, data: dict[str, str]) -> httpx.Response:
        """POST with retries on transport errors and 5xx; other answers are returned."""
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self._http.post(path, data=data)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 500:
                    return response
                problem = f"HTTP {response.status_code}"
            log.warning(
                "ECPay %s attempt %d/%d failed: %s", path, attempt, self.max_attempts, problem
            )
            if attempt < self.max_attempts:
                self._sleep(self.backoff_seconds * 2 ** (attempt - 1))
        raise EcpayUnavailable(f"ECPay {path} failed after {self.max_attempts} attempts: {problem}")

    @staticmethod
    def _check_status(path: str, response: httpx.Response) -> str:
        if response.status_code != 200:
            # 403 means "called too fast": ECPay asks for a 30-minute pause, so no retry.
            raise EcpayResponseError(
                f"ECPay {path} answered HTTP {response.status_code}",
                errors={"body": response.text[:200]},
            )
        return response.text

    @staticmethod
    def _form_body(what: str, body: str) -> dict[str, str]:
        try:
            return parse_ecpay_form_body(body)
        except ValidationError as exc:
            # Errors come back as plain text such as "10200073|CheckMacValue Error".
            raise EcpayResponseError(f"ECPay {what} refused: {body[:200]}") from exc

    def query_trade(self, merchant_trade_no: str, *, platform_id: str = "") -> TradeInfo:
        """QueryTradeInfo V5; the answer's own CheckMacValue must verify.

        An order ECPay never saw comes back as ``TradeInfo`` with ``not_found`` true.
        """
        body = self._check_status(
            QUERY_TRADE_PATH,
            self._post(QUERY_TRADE_PATH, self._signed(merchant_trade_no, platform_id)),
        )
        fields = self._form_body("QueryTradeInfo", body)
        if CHECK_MAC_FIELD not in fields or not verify_check_mac_value(
            fields, self.credentials.hash_key, self.credentials.hash_iv
        ):
            raise EcpayResponseError("QueryTradeInfo answer has a missing or wrong CheckMacValue")
        try:
            return TradeInfo.from_form(fields)
        except ValidationError as exc:
            raise EcpayResponseError(exc.message, errors=exc.errors) from exc

    def query_period(self, merchant_trade_no: str, *, platform_id: str = "") -> PeriodInfo:
        """QueryCreditCardPeriodInfo (JSON, unsigned by ECPay)."""
        body = self._check_status(
            QUERY_PERIOD_PATH,
            self._post(QUERY_PERIOD_PATH, self._signed(merchant_trade_no, platform_id)),
        )
        try:
            data: Any = json.loads(body)
        except json.JSONDecodeError as exc:
            raise EcpayResponseError(f"QueryCreditCardPeriodInfo refused: {body[:200]}") from exc
        if not isinstance(data, dict):
            raise EcpayResponseError("QueryCreditCardPeriodInfo answer is not a JSON object")
        try:
            return PeriodInfo.from_json(data)
        except ValidationError as exc:
            raise EcpayResponseError(exc.message, errors=exc.errors) from exc

    def period_action(
        self, merchant_trade_no: str, action: str, *, platform_id: str = ""
    ) -> PeriodActionResult:
        """CreditCardPeriodAction: ``Cancel`` the remaining charges or ``ReAuth`` the failed one.

        Raises ``EcpayRefused`` (with ``rtn_code``) when RtnCode is not 1. A Cancel retried
        after a lost answer may come back refused as already cancelled: test that with
        ``query.is_already_cancelled(error)``.
        """
        if action not in PERIOD_ACTIONS:
            raise ValueError(f"action must be one of {PERIOD_ACTIONS}, not {action!r}")
        data = self._signed(merchant_trade_no, platform_id, Action=action)
        body = self._check_status(PERIOD_ACTION_PATH, self._post(PERIOD_ACTION_PATH, data))
        fields = self._form_body("CreditCardPeriodAction", body)
        # ECPay's docs do not say this answer is signed; when it is, it must verify.
        if CHECK_MAC_FIELD in fields and not verify_check_mac_value(
            fields, self.credentials.hash_key, self.credentials.hash_iv
        ):
            raise EcpayResponseError("CreditCardPeriodAction answer has a wrong CheckMacValue")
        try:
            result = PeriodActionResult.from_form(fields)
        except ValidationError as exc:
            raise EcpayResponseError(exc.message, errors=exc.errors) from exc
        if not result.ok:
            raise EcpayRefused(
                f"ECPay CreditCardPeriodAction {action} for {merchant_trade_no} refused: "
                f"RtnCode={result.rtn_code} {result.rtn_msg}",
                rtn_code=result.rtn_code,
                rtn_msg=result.rtn_msg,
            )
        return result
