"""What the simulated gateway checks in incoming requests before accepting them."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING

from services.ecpay.checkmac import CHECK_MAC_FIELD, verify_check_mac_value
from services.ecpay.checkout import EXEC_TIMES_LIMITS, FREQUENCY_LIMITS
from services.ecpay.fields import parse_taipei_datetime
from services.ecpay.query import PERIOD_ACTIONS
from services.ecpay.simulator.store import SimError

if TYPE_CHECKING:
    from services.ecpay.simulator.engine import SimConfig

# 10200073 is the CheckMacValue code merchants commonly report; the other numbers are the
# simulator's own and may differ from ECPay's.
CHECKOUT_REQUIRED = (
    "MerchantID",
    "MerchantTradeNo",
    "MerchantTradeDate",
    "PaymentType",
    "TotalAmount",
    "TradeDesc",
    "ItemName",
    "ReturnURL",
    "ChoosePayment",
    "EncryptType",
    CHECK_MAC_FIELD,
)
QUERY_REQUIRED = ("MerchantID", "MerchantTradeNo", "TimeStamp", CHECK_MAC_FIELD)
PERIOD_ACTION_REQUIRED = ("MerchantID", "MerchantTradeNo", "Action", "TimeStamp", CHECK_MAC_FIELD)
SUPPORTED_METHODS = ("ALL", "Credit", "ATM", "CVS", "BARCODE")
TIMESTAMP_WINDOW_SECONDS = 180
_TRADE_NO = re.compile(r"[A-Za-z0-9]{1,20}")
_URL = re.compile(r"https?://\S+")
_PERIOD_FIELDS = ("PeriodAmount", "PeriodType", "Frequency", "ExecTimes", "PeriodReturnURL")


def _invalid(name: str, why: str) -> SimError:
    return SimError("10200050", f"{name} Error: {why}")


def _signed_by_merchant(
    fields: dict[str, str], config: SimConfig, required: tuple[str, ...], encrypt_type: str = "1"
) -> None:
    missing = [name for name in required if not fields.get(name)]
    if missing:
        raise _invalid(missing[0], "required")
    if fields["MerchantID"] != config.merchant_id:
        raise SimError("10200051", "MerchantID Error: unknown merchant")
    if encrypt_type not in ("0", "1"):
        raise _invalid("EncryptType", "must be 1 (SHA256) or 0 (MD5)")
    if not verify_check_mac_value(fields, config.hash_key, config.hash_iv, int(encrypt_type)):
        raise SimError("10200073", "CheckMacValue Error")


def _positive_int(fields: dict[str, str], name: str) -> int:
    value = fields.get(name, "")
    if not value.isdigit() or int(value) <= 0:
        raise _invalid(name, "must be a positive integer")
    return int(value)


def check_checkout(fields: dict[str, str], config: SimConfig) -> None:
    """Refuse an AioCheckOut V5 post (shown as a `code|message` page with HTTP 200)."""
    _signed_by_merchant(fields, config, CHECKOUT_REQUIRED, fields.get("EncryptType", ""))
    if not _TRADE_NO.fullmatch(fields["MerchantTradeNo"]):
        raise _invalid("MerchantTradeNo", "1 to 20 letters and digits")
    try:
        parse_taipei_datetime(fields["MerchantTradeDate"])
    except ValueError as exc:
        raise _invalid("MerchantTradeDate", "yyyy/MM/dd HH:mm:ss") from exc
    if fields["PaymentType"] != "aio":
        raise _invalid("PaymentType", "must be aio")
    _positive_int(fields, "TotalAmount")
    if fields["ChoosePayment"] not in SUPPORTED_METHODS:
        raise _invalid("ChoosePayment", f"the simulator supports {', '.join(SUPPORTED_METHODS)}")
    for name in (
        "ReturnURL",
        "OrderResultURL",
        "ClientBackURL",
        "PaymentInfoURL",
        "ClientRedirectURL",
        "PeriodReturnURL",
    ):
        if fields.get(name) and not _URL.fullmatch(fields[name]):
            raise _invalid(name, "must be an http(s) URL")
    if any(fields.get(name) for name in _PERIOD_FIELDS):
        _check_periodic(fields)


def _check_periodic(fields: dict[str, str]) -> None:
    if fields["ChoosePayment"] != "Credit":
        raise _invalid("ChoosePayment", "periodic charges need Credit")
    for name in _PERIOD_FIELDS:
        if not fields.get(name):
            raise _invalid(name, "required for periodic charges")
    if _positive_int(fields, "PeriodAmount") != int(fields["TotalAmount"]):
        raise _invalid("PeriodAmount", "must equal TotalAmount")
    kind = fields["PeriodType"]
    if kind not in FREQUENCY_LIMITS:
        raise _invalid("PeriodType", "D, M or Y")
    if _positive_int(fields, "Frequency") not in FREQUENCY_LIMITS[kind]:
        raise _invalid("Frequency", "out of range")
    if _positive_int(fields, "ExecTimes") not in EXEC_TIMES_LIMITS[kind]:
        raise _invalid("ExecTimes", "out of range")


def _fresh(stamp: str, now: datetime) -> None:
    if not stamp.isdigit() or abs(now.timestamp() - int(stamp)) > TIMESTAMP_WINDOW_SECONDS:
        raise _invalid("TimeStamp", "older than 3 minutes")


def check_query(fields: dict[str, str], config: SimConfig, now: datetime) -> None:
    """QueryTradeInfo / QueryCreditCardPeriodInfo: signed (SHA256) and a fresh TimeStamp."""
    _signed_by_merchant(fields, config, QUERY_REQUIRED)
    _fresh(fields["TimeStamp"], now)


def check_period_action(fields: dict[str, str], config: SimConfig, now: datetime) -> None:
    """CreditCardPeriodAction (REFERENCE §5.3): checked like the queries, plus Action."""
    _signed_by_merchant(fields, config, PERIOD_ACTION_REQUIRED)
    _fresh(fields["TimeStamp"], now)
    if fields["Action"] not in PERIOD_ACTIONS:
        raise _invalid("Action", f"one of {', '.join(PERIOD_ACTIONS)}")
