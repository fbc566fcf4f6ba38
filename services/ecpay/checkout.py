"""AioCheckOut V5: validated, signed checkout forms (one-time and 定期定額 periodic)."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from services.core.clock import Clock
from services.core.errors import ValidationError
from services.ecpay.checkmac import EncryptType, sign
from services.ecpay.credentials import EcpayCredentials
from services.ecpay.fields import format_trade_date

TRADE_NO_PATTERN = re.compile(r"[A-Za-z0-9]{1,20}")
URL_PATTERN = re.compile(r"https?://[^\s<>\"]+")
URL_MAX = 200
# ECPay documents String(400) for ItemName but cuts longer values, which breaks the
# CheckMacValue of multi-byte text; its own Python/Node SDKs cap at 200 (REFERENCE §13.7).
ITEM_NAME_MAX = 200
TRADE_DESC_MAX = 200
REMARK_MAX = 100
CUSTOM_FIELD_MAX = 50
ATM_EXPIRE_DAYS = range(1, 61)
CVS_EXPIRE_MINUTES = range(1, 43201)
BARCODE_EXPIRE_DAYS = range(1, 31)
# Frequency and ExecTimes limits per PeriodType; the stricter reading of REFERENCE §5.1/§13.5.
FREQUENCY_LIMITS = {"D": range(1, 366), "M": range(1, 13), "Y": range(1, 2)}
EXEC_TIMES_LIMITS = {"D": range(2, 1000), "M": range(2, 100), "Y": range(2, 10)}


class ChoosePayment(StrEnum):
    ALL = "ALL"
    CREDIT = "Credit"
    ATM = "ATM"
    CVS = "CVS"
    BARCODE = "BARCODE"


OFFLINE_METHODS = frozenset({ChoosePayment.ATM, ChoosePayment.CVS, ChoosePayment.BARCODE})


@dataclass(frozen=True)
class PeriodicPlan:
    """定期定額: ECPay charges the card `exec_times` times, every `frequency` `period_type`."""

    period_amount: int
    period_type: str
    frequency: int
    exec_times: int
    period_return_url: str


@dataclass(frozen=True)
class CheckoutOrder:
    """What the merchant wants paid; checked by validate_order before signing."""

    merchant_trade_no: str
    total_amount: int
    trade_desc: str
    item_name: str
    return_url: str
    choose_payment: ChoosePayment = ChoosePayment.ALL
    client_back_url: str = ""
    order_result_url: str = ""
    payment_info_url: str = ""
    client_redirect_url: str = ""
    atm_expire_days: int | None = None
    store_expire: int | None = None
    periodic: PeriodicPlan | None = None
    custom_fields: tuple[str, ...] = ()
    remark: str = ""
    need_extra_paid_info: bool = False
    ignore_payment: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckoutForm:
    """The browser form: POST `fields` to `action_url` (ECPay forbids a server-side call)."""

    action_url: str
    fields: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))

    def to_html(self, *, auto_submit: bool = True) -> str:
        """A minimal self-submitting HTML form (values escaped)."""
        inputs = "\n".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in self.fields.items()
        )
        script = "<script>document.forms[0].submit();</script>" if auto_submit else ""
        return (
            f'<form method="post" action="{html.escape(self.action_url)}">\n{inputs}\n'
            f'<button type="submit">Pay with ECPay</button>\n</form>{script}'
        )


class _Errors(dict[str, list[str]]):
    def add(self, name: str, message: str) -> None:
        self.setdefault(name, []).append(message)

    def text(self, name: str, value: str, limit: int, *, required: bool = True) -> None:
        if required and not value.strip():
            self.add(name, "required")
        elif len(value) > limit:
            self.add(name, f"at most {limit} characters")
        if "<" in value or ">" in value:
            self.add(name, "must not contain HTML (< or >)")

    def url(self, name: str, value: str, *, required: bool = False) -> None:
        if not value:
            if required:
                self.add(name, "required")
            return
        if len(value) > URL_MAX:
            self.add(name, f"at most {URL_MAX} characters")
        if not URL_PATTERN.fullmatch(value):
            self.add(name, "must be an http(s) URL without spaces")

    def amount(self, name: str, value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            self.add(name, "must be a positive whole number of TWD")

    def within(self, name: str, value: object, allowed: range) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
            self.add(name, f"must be a whole number from {allowed.start} to {allowed.stop - 1}")


def _check_common(order: CheckoutOrder, errors: _Errors) -> None:
    if not TRADE_NO_PATTERN.fullmatch(order.merchant_trade_no):
        errors.add("MerchantTradeNo", "1 to 20 letters and digits")
    errors.amount("TotalAmount", order.total_amount)
    errors.text("TradeDesc", order.trade_desc, TRADE_DESC_MAX)
    errors.text("ItemName", order.item_name, ITEM_NAME_MAX)
    errors.text("Remark", order.remark, REMARK_MAX, required=False)
    errors.url("ReturnURL", order.return_url, required=True)
    for name, url in (
        ("ClientBackURL", order.client_back_url),
        ("OrderResultURL", order.order_result_url),
        ("PaymentInfoURL", order.payment_info_url),
        ("ClientRedirectURL", order.client_redirect_url),
    ):
        errors.url(name, url)
    if order.order_result_url and order.order_result_url == order.return_url:
        errors.add("OrderResultURL", "must differ from ReturnURL")
    if len(order.custom_fields) > 4:
        errors.add("CustomField", "at most 4 custom fields")
    for index, value in enumerate(order.custom_fields[:4], start=1):
        errors.text(f"CustomField{index}", value, CUSTOM_FIELD_MAX, required=False)
    if order.ignore_payment and order.choose_payment != ChoosePayment.ALL:
        errors.add("IgnorePayment", "only with ChoosePayment=ALL")


def _check_method(order: CheckoutOrder, errors: _Errors) -> None:
    method = order.choose_payment
    if method not in ChoosePayment.__members__.values():
        errors.add("ChoosePayment", f"one of {', '.join(m.value for m in ChoosePayment)}")
        return
    if order.atm_expire_days is not None:
        if method not in (ChoosePayment.ATM, ChoosePayment.ALL):
            errors.add("ExpireDate", "only for ATM or ALL")
        errors.within("ExpireDate", order.atm_expire_days, ATM_EXPIRE_DAYS)
    if order.store_expire is not None:
        limits = {ChoosePayment.CVS: CVS_EXPIRE_MINUTES, ChoosePayment.BARCODE: BARCODE_EXPIRE_DAYS}
        if method not in limits:
            errors.add("StoreExpireDate", "only for CVS (minutes) or BARCODE (days)")
        else:
            errors.within("StoreExpireDate", order.store_expire, limits[method])
    if order.periodic is not None:
        _check_periodic(order, order.periodic, errors)


def _check_periodic(order: CheckoutOrder, plan: PeriodicPlan, errors: _Errors) -> None:
    if order.choose_payment != ChoosePayment.CREDIT:
        errors.add("ChoosePayment", "periodic charges need ChoosePayment=Credit")
    errors.amount("PeriodAmount", plan.period_amount)
    if plan.period_amount != order.total_amount:
        errors.add("PeriodAmount", "must equal TotalAmount")
    if plan.period_type not in FREQUENCY_LIMITS:
        errors.add("PeriodType", "D, M or Y")
    else:
        errors.within("Frequency", plan.frequency, FREQUENCY_LIMITS[plan.period_type])
        errors.within("ExecTimes", plan.exec_times, EXEC_TIMES_LIMITS[plan.period_type])
    errors.url("PeriodReturnURL", plan.period_return_url, required=True)


def validate_order(order: CheckoutOrder) -> None:
    """Raise ValidationError (errors keyed by ECPay field name) unless ECPay would accept it."""
    errors = _Errors()
    _check_common(order, errors)
    _check_method(order, errors)
    if errors:
        raise ValidationError("Invalid ECPay checkout", errors=dict(errors))


def _optional_fields(order: CheckoutOrder) -> dict[str, str]:
    # Empty optionals are left out, as ECPay's Python SDK does; an empty value would
    # still take part in the CheckMacValue and some gateways reject empty URLs.
    candidates: dict[str, str | int | None] = {
        "ClientBackURL": order.client_back_url,
        "OrderResultURL": order.order_result_url,
        "PaymentInfoURL": order.payment_info_url,
        "ClientRedirectURL": order.client_redirect_url,
        "ExpireDate": order.atm_expire_days,
        "StoreExpireDate": order.store_expire,
        "Remark": order.remark,
        "NeedExtraPaidInfo": "Y" if order.need_extra_paid_info else "",
        "IgnorePayment": "#".join(order.ignore_payment),
    }
    for index, value in enumerate(order.custom_fields, start=1):
        candidates[f"CustomField{index}"] = value
    if order.periodic is not None:
        plan = order.periodic
        candidates.update(
            PeriodAmount=plan.period_amount,
            PeriodType=plan.period_type,
            Frequency=plan.frequency,
            ExecTimes=plan.exec_times,
            PeriodReturnURL=plan.period_return_url,
        )
    return {k: str(v) for k, v in candidates.items() if v not in (None, "")}


def build_checkout(
    credentials: EcpayCredentials,
    order: CheckoutOrder,
    *,
    now: datetime | Clock,
    encrypt_type: EncryptType = EncryptType.SHA256,
) -> CheckoutForm:
    """Validate ``order`` and return the signed AioCheckOut V5 form."""
    validate_order(order)
    moment = now if isinstance(now, datetime) else now.now()
    params = {
        "MerchantID": credentials.merchant_id,
        "MerchantTradeNo": order.merchant_trade_no,
        "MerchantTradeDate": format_trade_date(moment),
        "PaymentType": "aio",
        "TotalAmount": str(order.total_amount),
        "TradeDesc": order.trade_desc,
        "ItemName": order.item_name,
        "ReturnURL": order.return_url,
        "ChoosePayment": str(order.choose_payment),
        "EncryptType": str(int(encrypt_type)),
        **_optional_fields(order),
    }
    signed = sign(params, credentials.hash_key, credentials.hash_iv, encrypt_type)
    return CheckoutForm(action_url=credentials.checkout_url, fields=signed)
