"""Typed ReturnURL, PaymentInfoURL and PeriodReturnURL notifications posted by ECPay."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from services.core.errors import PaymentRejected
from services.ecpay.checkmac import CHECK_MAC_FIELD, EncryptType, verify_check_mac_value
from services.ecpay.credentials import EcpayCredentials
from services.ecpay.fields import TAIPEI, FormReader

# The only answer that stops ECPay re-sending a notification.
ACK = "1|OK"
RTN_PAID = 1
RTN_ATM_ISSUED = 2
RTN_CODE_ISSUED = 10100073


def form_to_dict(form: Mapping[str, Any]) -> dict[str, str]:
    """First value of each field (works for dicts and werkzeug MultiDicts alike)."""
    return {str(name): form[name] for name in form}


def verify_notification(
    form: Mapping[str, Any],
    credentials: EcpayCredentials,
    encrypt_type: EncryptType = EncryptType.SHA256,
) -> dict[str, str]:
    """The posted fields when their CheckMacValue is right; PaymentRejected otherwise.

    Every posted field takes part, including ones this code does not know
    (NeedExtraPaidInfo extras); callbacks carry no EncryptType and are SHA256-signed.
    """
    fields = form_to_dict(form)
    if not verify_check_mac_value(fields, credentials.hash_key, credentials.hash_iv, encrypt_type):
        raise PaymentRejected("CheckMacValue does not match", code="bad_check_mac_value")
    return fields


def _custom_fields(reader: FormReader) -> tuple[str, str, str, str]:
    values = [reader.text(f"CustomField{i}", required=False) for i in range(1, 5)]
    return (values[0], values[1], values[2], values[3])


def _frozen(form: Mapping[str, Any]) -> Mapping[str, str]:
    return MappingProxyType(form_to_dict(form))


@dataclass(frozen=True)
class PaymentNotification:
    """ReturnURL: the result of a payment (RtnCode 1 = paid)."""

    merchant_id: str
    merchant_trade_no: str
    rtn_code: int
    rtn_msg: str
    trade_no: str
    trade_amt: int
    payment_date: datetime | None
    payment_type: str
    payment_type_charge_fee: Decimal
    trade_date: datetime
    simulate_paid: bool
    store_id: str = ""
    custom_fields: tuple[str, str, str, str] = ("", "", "", "")
    raw: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def paid(self) -> bool:
        return self.rtn_code == RTN_PAID

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> PaymentNotification:
        r = FormReader(form_to_dict(form), "payment notification")
        result = dict(
            merchant_id=r.text("MerchantID"),
            merchant_trade_no=r.text("MerchantTradeNo"),
            rtn_code=r.integer("RtnCode"),
            rtn_msg=r.text("RtnMsg", required=False),
            trade_no=r.text("TradeNo"),
            trade_amt=r.integer("TradeAmt"),
            # A failed payment may come without a PaymentDate.
            payment_date=r.moment("PaymentDate", required=False),
            payment_type=r.text("PaymentType"),
            payment_type_charge_fee=r.decimal("PaymentTypeChargeFee", required=False) or Decimal(0),
            trade_date=r.moment("TradeDate"),
            simulate_paid=r.flag("SimulatePaid"),
            store_id=r.text("StoreID", required=False),
            custom_fields=_custom_fields(r),
        )
        r.done()
        return cls(**result, raw=_frozen(form))  # type: ignore[arg-type]


@dataclass(frozen=True)
class PaymentInfoNotification:
    """PaymentInfoURL: an ATM account or CVS/BARCODE code was issued (not yet paid)."""

    merchant_id: str
    merchant_trade_no: str
    rtn_code: int
    rtn_msg: str
    trade_no: str
    trade_amt: int
    payment_type: str
    trade_date: datetime
    expires_at: datetime | None
    bank_code: str = ""
    v_account: str = ""
    payment_no: str = ""
    barcodes: tuple[str, str, str] = ("", "", "")
    store_id: str = ""
    custom_fields: tuple[str, str, str, str] = ("", "", "", "")
    raw: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def method(self) -> str:
        """`ATM`, `CVS` or `BARCODE` (PaymentType is e.g. `ATM_TAISHIN`)."""
        return self.payment_type.split("_", 1)[0]

    @property
    def issued(self) -> bool:
        expected = RTN_ATM_ISSUED if self.method == "ATM" else RTN_CODE_ISSUED
        return self.rtn_code == expected

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> PaymentInfoNotification:
        r = FormReader(form_to_dict(form), "payment-info notification")
        payment_type = r.text("PaymentType")
        expires_at = _expiry(r)
        result = dict(
            merchant_id=r.text("MerchantID"),
            merchant_trade_no=r.text("MerchantTradeNo"),
            rtn_code=r.integer("RtnCode"),
            rtn_msg=r.text("RtnMsg", required=False),
            trade_no=r.text("TradeNo"),
            trade_amt=r.integer("TradeAmt"),
            payment_type=payment_type,
            trade_date=r.moment("TradeDate"),
            expires_at=expires_at,
            bank_code=r.text("BankCode", required=False),
            v_account=r.text("vAccount", required=False),
            payment_no=r.text("PaymentNo", required=False),
            barcodes=tuple(r.text(f"Barcode{i}", required=False) for i in (1, 2, 3)),
            store_id=r.text("StoreID", required=False),
            custom_fields=_custom_fields(r),
        )
        if payment_type.startswith("ATM") and r.form.get("RtnCode") == str(RTN_ATM_ISSUED):
            r.text("BankCode")
            r.text("vAccount")
        r.done()
        return cls(**result, raw=_frozen(form))  # type: ignore[arg-type]


def _expiry(r: FormReader) -> datetime | None:
    # ATM sends a date (payable through that whole day); CVS/BARCODE send a full time.
    raw = r.text("ExpireDate", required=False)
    if raw and ":" not in raw:
        day = r.day("ExpireDate")
        return None if day is None else datetime.combine(day, time(23, 59, 59), tzinfo=TAIPEI)
    return r.moment("ExpireDate", required=False)


@dataclass(frozen=True)
class PeriodNotification:
    """PeriodReturnURL: the result of charge 2..n of a 定期定額 agreement."""

    merchant_id: str
    merchant_trade_no: str
    rtn_code: int
    rtn_msg: str
    period_type: str
    frequency: int
    exec_times: int
    amount: int
    gwsr: str
    process_date: datetime
    auth_code: str
    first_auth_amount: int
    total_success_times: int
    simulate_paid: bool
    store_id: str = ""
    custom_fields: tuple[str, str, str, str] = ("", "", "", "")
    raw: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def paid(self) -> bool:
        return self.rtn_code == RTN_PAID

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> PeriodNotification:
        r = FormReader(form_to_dict(form), "periodic notification")
        result = dict(
            merchant_id=r.text("MerchantID"),
            merchant_trade_no=r.text("MerchantTradeNo"),
            rtn_code=r.integer("RtnCode"),
            rtn_msg=r.text("RtnMsg", required=False),
            period_type=r.text("PeriodType"),
            frequency=r.integer("Frequency"),
            exec_times=r.integer("ExecTimes"),
            amount=r.integer("Amount"),
            gwsr=r.text("Gwsr", required=False),
            process_date=r.moment("ProcessDate"),
            auth_code=r.text("AuthCode", required=False),
            first_auth_amount=r.integer("FirstAuthAmount"),
            total_success_times=r.integer("TotalSuccessTimes"),
            simulate_paid=r.flag("SimulatePaid"),
            store_id=r.text("StoreID", required=False),
            custom_fields=_custom_fields(r),
        )
        r.done()
        return cls(**result, raw=_frozen(form))  # type: ignore[arg-type]


__all__ = [
    "ACK",
    "CHECK_MAC_FIELD",
    "PaymentInfoNotification",
    "PaymentNotification",
    "PeriodNotification",
    "verify_notification",
]
