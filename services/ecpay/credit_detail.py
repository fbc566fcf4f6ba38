"""Card capture and refund at ECPay: CreditDetail/DoAction and CreditDetail/QueryTrade.

REFERENCE §7. DoAction takes `Action` C (capture), R (refund, partial allowed for ordinary
one-time authorizations), E (undo a requested capture) and N (drop an authorization).
By state: 已授權 → N; 要關帳 → full refund E then N, partial R; 已關帳 → R. Never call
20:15–20:30 Taipei, while ECPay's daily capture batch runs.

Self-contained on purpose (no Fluxus core imports): its own errors, its own clock argument.

QueryTrade (查詢信用卡單筆明細, docs ?p=2894 zh / ?p=16589 en, REFERENCE §7) is keyed by the
card authorization, not the order: `MerchantID`, `CreditRefundId` (the `gwsr` ReturnURL carries
when the checkout sent `NeedExtraPaidInfo=Y`), `CreditAmount` (the authorized amount),
`CreditCheckCode` (the merchant's check code from the vendor dashboard) and `CheckMacValue`;
no TimeStamp, no trade numbers. It answers JSON `{"RtnMsg", "RtnValue": {"TradeID", "amount",
"clsamt", "authtime", "status", "close_data": [{"status", "amount", "sno", ...}]}}`; `RtnMsg`
is empty on success, else error_Stop / error_nopay / error. The zh page lists 要關帳 (capture
requested) only as a `close_data` status, so that is where it is read. Stage cannot answer
this API (no real authorizations): the form follows the documentation, unproven on production.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import httpx

from services.ecpay.checkmac import CHECK_MAC_FIELD, sign, verify_check_mac_value

log = logging.getLogger(__name__)

DO_ACTION_PATH = "/CreditDetail/DoAction"
QUERY_CARD_TRADE_PATH = "/CreditDetail/QueryTrade/V2"

ACTION_CAPTURE = "C"
ACTION_REFUND = "R"
ACTION_UNDO_CAPTURE = "E"
ACTION_DROP_AUTH = "N"
ACTIONS = (ACTION_CAPTURE, ACTION_REFUND, ACTION_UNDO_CAPTURE, ACTION_DROP_AUTH)

# QueryTrade `status` values (ECPay answers them in Chinese).
STATE_AUTHORIZED = "已授權"
STATE_CAPTURE_REQUESTED = "要關帳"
STATE_CAPTURED = "已關帳"
STATE_DROPPED = "已放棄"
STATE_CANCELLED = "已取消"
STATE_OPERATION_CANCELLED = "操作取消"
# The statuses doc 2894 lists for a `close_data` entry; anything else there is not a state.
CLOSE_STATES = (STATE_CAPTURE_REQUESTED, STATE_CAPTURED, STATE_CANCELLED,
                STATE_OPERATION_CANCELLED)

TAIPEI = ZoneInfo("Asia/Taipei")
CAPTURE_WINDOW = (time(20, 15), time(20, 30))
# Our clock and ECPay's never agree to the second: keep a minute clear on each side.
WINDOW_MARGIN = timedelta(minutes=1)


class CreditDetailError(Exception):
    """Anything that went wrong asking ECPay about a card trade."""


class CreditDetailUnavailable(CreditDetailError):
    """ECPay could not be reached or answered 5xx/403: nothing is known to have happened."""


class CreditDetailBadAnswer(CreditDetailError):
    """ECPay answered something unusable (not parseable, wrong signature)."""


class CreditDetailRefused(CreditDetailError):
    """ECPay said no: ``rtn_code`` and ``rtn_msg`` are its answer."""

    def __init__(self, action: str, rtn_code: str, rtn_msg: str) -> None:
        super().__init__(f"ECPay refused {action}: RtnCode={rtn_code} {rtn_msg}")
        self.action = action
        self.rtn_code = rtn_code
        self.rtn_msg = rtn_msg


def in_capture_window(moment: datetime) -> bool:
    """True while ECPay's capture batch may run (20:15–20:30 Taipei, with a minute's margin)."""
    local = moment.astimezone(TAIPEI)
    start = datetime.combine(local.date(), CAPTURE_WINDOW[0], TAIPEI) - WINDOW_MARGIN
    end = datetime.combine(local.date(), CAPTURE_WINDOW[1], TAIPEI) + WINDOW_MARGIN
    return start <= local < end


def capture_window_end(moment: datetime) -> datetime:
    """The first moment after the window that contains ``moment`` (UTC)."""
    local = moment.astimezone(TAIPEI)
    end = datetime.combine(local.date(), CAPTURE_WINDOW[1], TAIPEI) + WINDOW_MARGIN
    return end.astimezone(UTC)


@dataclass(frozen=True)
class CardTrade:
    """A card authorization as QueryTrade reports it."""

    trade_id: str
    state: str
    amount: int  # authorized
    close_amount: int  # what stays captured (or to be captured) after refunds
    operations: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    @property
    def money_back(self) -> int:
        """How much of the authorization ECPay has already given back or never took."""
        if self.state in (STATE_DROPPED, STATE_CANCELLED):
            return self.amount
        if self.state in (STATE_CAPTURE_REQUESTED, STATE_CAPTURED):
            return self.amount - self.close_amount
        return 0

    @property
    def refundable(self) -> int:
        return self.amount - self.money_back

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CardTrade:
        value = data.get("RtnValue")
        if not isinstance(value, dict):
            raise CreditDetailBadAnswer(f"QueryTrade answer has no RtnValue: {data!r:.200}")
        try:
            operations = tuple(value.get("close_data") or ())
            return cls(
                trade_id=str(value.get("TradeID", "")),
                state=_state(str(value["status"]), operations),
                amount=int(value["amount"]),
                close_amount=int(value.get("clsamt") or 0),
                operations=operations,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CreditDetailBadAnswer(f"QueryTrade answer unreadable: {value!r:.200}") from exc


def _state(status: str, operations: tuple[Any, ...]) -> str:
    """An authorization whose latest documented close entry is 要關帳 waits for the capture
    batch: the top-level status alone (已授權) would hide that."""
    closes = [str(op.get("status", "")) for op in operations if isinstance(op, dict)]
    documented = [close for close in closes if close in CLOSE_STATES]
    if status == STATE_AUTHORIZED and documented and documented[-1] == STATE_CAPTURE_REQUESTED:
        return STATE_CAPTURE_REQUESTED
    return status


def plan_refund(trade: CardTrade, amount: int) -> tuple[str, ...]:
    """The DoAction calls that give ``amount`` back from ``trade``, in order (REFERENCE §7).

    Raises ``ValueError`` when ECPay offers no way: more than is left, or a partial refund
    of an authorization not yet sent for capture (only a capture request makes it partial).
    """
    if amount <= 0:
        raise ValueError("a refund is a positive amount")
    if amount > trade.refundable:
        raise ValueError(f"only NT${trade.refundable} of the card payment is left to refund")
    full = amount == trade.amount and trade.money_back == 0
    if trade.state == STATE_AUTHORIZED:
        if not full:
            raise ValueError("a partial refund of an authorization that is not captured")
        return (ACTION_DROP_AUTH,)
    if trade.state == STATE_CAPTURE_REQUESTED:
        return (ACTION_UNDO_CAPTURE, ACTION_DROP_AUTH) if full else (ACTION_REFUND,)
    if trade.state == STATE_CAPTURED:
        return (ACTION_REFUND,)
    raise ValueError(f"the card trade is {trade.state}: nothing to refund")


def _form_body(body: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for part in body.strip().split("&"):
        name, sep, value = part.partition("=")
        if not sep:
            raise CreditDetailBadAnswer(f"not a key=value answer: {body[:200]}")
        fields[unquote(name)] = unquote(value)
    return fields


class CreditDetailClient:
    """DoAction and QueryTrade for one merchant; no retries here: the caller's saga decides
    when to try again. ``credit_check_code`` is only needed for QueryTrade."""

    def __init__(
        self,
        gateway_url: str,
        merchant_id: str,
        hash_key: str,
        hash_iv: str,
        *,
        http: httpx.Client | None = None,
        timeout: float = 10.0,
        credit_check_code: str = "",
    ) -> None:
        self.gateway_url = gateway_url.rstrip("/")
        self.merchant_id = merchant_id
        self._keys = (hash_key, hash_iv)
        self._http = http or httpx.Client(timeout=timeout)
        self._owns_http = http is None
        self._check_code = credit_check_code

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> CreditDetailClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _post(self, path: str, params: dict[str, str]) -> str:
        signed = sign(params, *self._keys)
        try:
            response = self._http.post(self.gateway_url + path, data=signed)
        except httpx.HTTPError as exc:
            raise CreditDetailUnavailable(f"{path}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500 or response.status_code == 403:
            # 403 is ECPay's "too many calls": wait, as for an outage.
            raise CreditDetailUnavailable(f"{path}: HTTP {response.status_code}")
        if response.status_code != 200:
            raise CreditDetailBadAnswer(
                f"{path}: HTTP {response.status_code} {response.text[:200]}"
            )
        return response.text

    def query_trade(self, credit_refund_id: str, credit_amount: int) -> CardTrade:
        """The card authorization ``credit_refund_id`` (its gwsr) of ``credit_amount``."""
        if not self._check_code:
            raise CreditDetailRefused("QueryTrade", "", "no CreditCheckCode configured")
        params = {
            "MerchantID": self.merchant_id,
            "CreditRefundId": credit_refund_id,
            "CreditAmount": str(credit_amount),
            "CreditCheckCode": self._check_code,
        }
        body = self._post(QUERY_CARD_TRADE_PATH, params)
        try:
            data = json.loads(body)
        except json.JSONDecodeError:
            raise CreditDetailBadAnswer(f"QueryTrade answer is not JSON: {body[:200]}") from None
        if not isinstance(data, dict):
            raise CreditDetailBadAnswer("QueryTrade answer is not a JSON object")
        rtn_msg = str(data.get("RtnMsg") or "")
        if rtn_msg or not isinstance(data.get("RtnValue"), dict):
            # error_Stop (merchant), error_nopay (no such authorization), error (checks).
            raise CreditDetailRefused("QueryTrade", rtn_msg or "error", "no RtnValue")
        return CardTrade.from_json(data)

    def do_action(
        self, merchant_trade_no: str, trade_no: str, action: str, amount: int
    ) -> dict[str, str]:
        """One DoAction; returns ECPay's fields, raises ``CreditDetailRefused`` unless RtnCode=1."""
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {ACTIONS}, not {action!r}")
        params = {
            "MerchantID": self.merchant_id,
            "MerchantTradeNo": merchant_trade_no,
            "TradeNo": trade_no,
            "Action": action,
            "TotalAmount": str(amount),
        }
        fields = _form_body(self._post(DO_ACTION_PATH, params))
        # The docs do not say the answer is signed; when it is, it must verify.
        if CHECK_MAC_FIELD in fields and not verify_check_mac_value(fields, *self._keys):
            raise CreditDetailBadAnswer("DoAction answer has a wrong CheckMacValue")
        if fields.get("RtnCode") != "1":
            raise CreditDetailRefused(action, fields.get("RtnCode", ""), fields.get("RtnMsg", ""))
        log.info(
            "DoAction %s NT$%s on %s: %s",
            action,
            amount,
            merchant_trade_no,
            fields.get("RtnMsg", ""),
        )
        return fields
