"""Typed results of QueryTradeInfo V5 and QueryCreditCardPeriodInfo, and their parsing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote

from services.core.errors import ValidationError
from services.ecpay.fields import FormReader

TRADE_STATUS_UNPAID = "0"
TRADE_STATUS_PAID = "1"
TRADE_STATUS_NOT_ESTABLISHED = "10200095"
# ECPay answers a query for an order it never saw with a signed body carrying this status
# (the same number as its "MerchantTradeNo not found / duplicate" error).
TRADE_STATUS_NOT_FOUND = "10200047"

# QueryCreditCardPeriodInfo ExecStatus (REFERENCE §5.4; names recalled, not documented).
EXEC_STATUS_CANCELLED = "0"
EXEC_STATUS_RUNNING = "1"
EXEC_STATUS_FINISHED = "2"

# CreditCardPeriodAction (REFERENCE §5.3).
PERIOD_ACTION_CANCEL = "Cancel"
PERIOD_ACTION_REAUTH = "ReAuth"
PERIOD_ACTIONS = (PERIOD_ACTION_CANCEL, PERIOD_ACTION_REAUTH)
# ECPay's RtnCode for "this agreement is already cancelled" is not documented. We take the
# harsher reading -- a second Cancel is refused, not answered 1 again -- and this is the
# code the simulator gives; match it with is_already_cancelled(), never with the text.
# Verify on stage before trusting it against the real gateway.
RTN_PERIOD_ALREADY_CANCELLED = 10100252


def parse_ecpay_form_body(body: str) -> dict[str, str]:
    """Split ECPay's `a=b&c=d` answer; a literal '+' is data, not a space (as SDK_PHP does)."""
    fields: dict[str, str] = {}
    for part in body.strip().split("&"):
        if not part:
            continue
        name, sep, value = part.partition("=")
        if not sep:
            raise ValidationError("not a key=value body", errors={"body": [body[:200]]})
        fields[unquote(name)] = unquote(value)
    return fields


@dataclass(frozen=True)
class TradeInfo:
    """One order as ECPay knows it (TradeStatus `1` = paid)."""

    merchant_id: str
    merchant_trade_no: str
    trade_no: str
    trade_amt: int
    trade_status: str
    payment_type: str
    payment_date: datetime | None
    trade_date: datetime | None
    handling_charge: Decimal | None
    payment_type_charge_fee: Decimal | None
    item_name: str = ""
    store_id: str = ""
    custom_fields: tuple[str, str, str, str] = ("", "", "", "")
    raw: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def paid(self) -> bool:
        return self.trade_status == TRADE_STATUS_PAID

    @property
    def not_found(self) -> bool:
        """ECPay has no order with this MerchantTradeNo (never checked out there)."""
        return self.trade_status == TRADE_STATUS_NOT_FOUND

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> TradeInfo:
        r = FormReader(dict(form), "QueryTradeInfo answer")
        result = dict(
            merchant_id=r.text("MerchantID"),
            merchant_trade_no=r.text("MerchantTradeNo"),
            # An unpaid order can come back without TradeNo, dates or fees.
            trade_no=r.text("TradeNo", required=False),
            trade_amt=r.integer("TradeAmt"),
            trade_status=r.text("TradeStatus"),
            payment_type=r.text("PaymentType", required=False),
            payment_date=r.moment("PaymentDate", required=False),
            trade_date=r.moment("TradeDate", required=False),
            handling_charge=r.decimal("HandlingCharge", required=False),
            payment_type_charge_fee=r.decimal("PaymentTypeChargeFee", required=False),
            item_name=r.text("ItemName", required=False),
            store_id=r.text("StoreID", required=False),
            custom_fields=tuple(r.text(f"CustomField{i}", required=False) for i in range(1, 5)),
        )
        r.done()
        return cls(**result, raw=MappingProxyType(dict(form)))  # type: ignore[arg-type]


def _json_form(data: Mapping[str, Any]) -> dict[str, str]:
    # ECPay's JSON mixes numbers and strings for the same kind of field.
    return {
        str(k): "" if v is None else str(v)
        for k, v in data.items()
        if not isinstance(v, list | dict)
    }


@dataclass(frozen=True)
class PeriodCharge:
    """One entry of a periodic agreement's execution log."""

    rtn_code: int
    amount: int
    process_date: datetime | None
    gwsr: str = ""
    auth_code: str = ""
    trade_no: str = ""
    rtn_msg: str = ""

    @property
    def paid(self) -> bool:
        return self.rtn_code == 1

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PeriodCharge:
        r = FormReader(_json_form(data), "ExecLog entry")
        result = dict(
            rtn_code=r.integer("RtnCode"),
            amount=r.integer("amount"),
            process_date=r.moment("process_date", required=False),
            gwsr=r.text("gwsr", required=False),
            auth_code=r.text("auth_code", required=False),
            trade_no=r.text("TradeNo", required=False),
            rtn_msg=r.text("RtnMsg", required=False),
        )
        r.done()
        return cls(**result)  # type: ignore[arg-type]


@dataclass(frozen=True)
class PeriodInfo:
    """A 定期定額 agreement: plan, progress, log (ExecStatus 0 cancelled, 1 running, 2 done)."""

    merchant_id: str
    merchant_trade_no: str
    trade_no: str
    rtn_code: int
    period_type: str
    frequency: int
    exec_times: int
    period_amount: int
    first_amount: int | None
    total_success_times: int | None
    total_success_amount: int | None
    exec_status: str
    exec_log: tuple[PeriodCharge, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def cancelled(self) -> bool:
        """Stopped for good (by CreditCardPeriodAction Cancel or after six declines)."""
        return self.exec_status == EXEC_STATUS_CANCELLED

    @property
    def running(self) -> bool:
        return self.exec_status == EXEC_STATUS_RUNNING

    @property
    def finished(self) -> bool:
        """Every one of ExecTimes charges has been run."""
        return self.exec_status == EXEC_STATUS_FINISHED

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PeriodInfo:
        r = FormReader(_json_form(data), "QueryCreditCardPeriodInfo answer")
        log = data.get("ExecLog") or []
        if not isinstance(log, list):
            r.errors["ExecLog"] = ["must be a list"]
            log = []
        result = dict(
            merchant_id=r.text("MerchantID"),
            merchant_trade_no=r.text("MerchantTradeNo"),
            trade_no=r.text("TradeNo", required=False),
            rtn_code=r.integer("RtnCode"),
            period_type=r.text("PeriodType"),
            frequency=r.integer("Frequency"),
            exec_times=r.integer("ExecTimes"),
            period_amount=r.integer("PeriodAmount"),
            first_amount=r.integer("amount", required=False),
            total_success_times=r.integer("TotalSuccessTimes", required=False),
            total_success_amount=r.integer("TotalSuccessAmount", required=False),
            exec_status=r.text("ExecStatus", required=False),
        )
        r.done()
        charges = tuple(PeriodCharge.from_json(item) for item in log if isinstance(item, Mapping))
        return cls(**result, exec_log=charges, raw=MappingProxyType(dict(data)))  # type: ignore[arg-type]


@dataclass(frozen=True)
class PeriodActionResult:
    """CreditCardPeriodAction's answer (a URL-encoded `RtnCode=1&RtnMsg=...` body)."""

    rtn_code: int
    rtn_msg: str
    merchant_id: str = ""
    merchant_trade_no: str = ""
    raw: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.rtn_code == 1

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> PeriodActionResult:
        r = FormReader(dict(form), "CreditCardPeriodAction answer")
        result = dict(
            rtn_code=r.integer("RtnCode"),
            rtn_msg=r.text("RtnMsg", required=False),
            merchant_id=r.text("MerchantID", required=False),
            merchant_trade_no=r.text("MerchantTradeNo", required=False),
        )
        r.done()
        return cls(**result, raw=MappingProxyType(dict(form)))  # type: ignore[arg-type]


def is_already_cancelled(error: BaseException) -> bool:
    """True when a Cancel was refused because the agreement was cancelled before."""
    return getattr(error, "rtn_code", None) == RTN_PERIOD_ALREADY_CANCELLED
