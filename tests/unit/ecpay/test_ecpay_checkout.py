"""Checkout building: signed AioCheckOut V5 fields, Taipei dates, and field validation."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.errors import ValidationError
from services.ecpay.checkmac import verify_check_mac_value
from services.ecpay.checkout import (
    CheckoutOrder,
    ChoosePayment,
    PeriodicPlan,
    build_checkout,
    validate_order,
)
from services.ecpay.credentials import EcpayCredentials, credentials_from_settings

pytestmark = pytest.mark.unit

CREDS = EcpayCredentials.stage("https://sim.example/")
NOW = datetime(2025, 1, 31, 16, 30, 5, tzinfo=UTC)  # 2025-02-01 00:30:05 in Taipei
ORDER = CheckoutOrder(
    merchant_trade_no="FX20250201A1",
    total_amount=990,
    trade_desc="Fluxus Pro 月費",
    item_name="Fluxus Pro x1",
    return_url="https://pay.example/payment/ecpay/return",
)


def _errors(order: CheckoutOrder) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        validate_order(order)
    return caught.value.errors


def test_credit_checkout_is_signed_and_dated_in_taipei() -> None:
    form = build_checkout(
        CREDS, dataclasses.replace(ORDER, choose_payment=ChoosePayment.CREDIT), now=FixedClock(NOW)
    )
    assert form.action_url == "https://sim.example/Cashier/AioCheckOut/V5"
    assert form.fields["MerchantTradeDate"] == "2025/02/01 00:30:05"
    assert form.fields["MerchantID"] == "3002607"
    assert form.fields["ChoosePayment"] == "Credit"
    assert form.fields["TotalAmount"] == "990"
    assert form.fields["PaymentType"] == "aio"
    assert form.fields["EncryptType"] == "1"
    assert verify_check_mac_value(form.fields, CREDS.hash_key, CREDS.hash_iv)


def test_empty_optionals_are_not_sent() -> None:
    form = build_checkout(CREDS, ORDER, now=NOW)
    assert "ClientBackURL" not in form.fields
    assert "PeriodType" not in form.fields


@pytest.mark.parametrize("method", ["ATM", "CVS", "BARCODE"])
def test_offline_methods_carry_payment_info_url(method: str) -> None:
    order = dataclasses.replace(
        ORDER,
        choose_payment=ChoosePayment(method),
        payment_info_url="https://pay.example/info",
        atm_expire_days=5 if method == "ATM" else None,
        store_expire=3 if method != "ATM" else None,
    )
    fields = build_checkout(CREDS, order, now=NOW).fields
    assert fields["PaymentInfoURL"] == "https://pay.example/info"
    assert fields.get("ExpireDate" if method == "ATM" else "StoreExpireDate") in ("5", "3")


def test_periodic_checkout_carries_the_plan() -> None:
    plan = PeriodicPlan(990, "M", 1, 12, "https://pay.example/period")
    order = dataclasses.replace(ORDER, choose_payment=ChoosePayment.CREDIT, periodic=plan)
    fields = build_checkout(CREDS, order, now=NOW).fields
    assert (
        fields["PeriodAmount"],
        fields["PeriodType"],
        fields["Frequency"],
        fields["ExecTimes"],
        fields["PeriodReturnURL"],
    ) == ("990", "M", "1", "12", "https://pay.example/period")


def test_md5_checkout_declares_encrypt_type_0() -> None:
    form = build_checkout(CREDS, ORDER, now=NOW, encrypt_type=0)  # type: ignore[arg-type]
    assert form.fields["EncryptType"] == "0"
    assert len(form.fields["CheckMacValue"]) == 32


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        build_checkout(CREDS, ORDER, now=datetime(2025, 1, 1))  # noqa: DTZ001


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"merchant_trade_no": "FX-2025"}, "MerchantTradeNo"),
        ({"merchant_trade_no": "A" * 21}, "MerchantTradeNo"),
        ({"merchant_trade_no": ""}, "MerchantTradeNo"),
        ({"total_amount": 0}, "TotalAmount"),
        ({"total_amount": -5}, "TotalAmount"),
        ({"total_amount": 9.5}, "TotalAmount"),
        ({"total_amount": True}, "TotalAmount"),
        ({"item_name": ""}, "ItemName"),
        ({"item_name": "x" * 201}, "ItemName"),
        ({"trade_desc": "<b>sale</b>"}, "TradeDesc"),
        ({"trade_desc": "d" * 201}, "TradeDesc"),
        ({"return_url": "ftp://x"}, "ReturnURL"),
        ({"return_url": ""}, "ReturnURL"),
        ({"return_url": "https://x/" + "a" * 200}, "ReturnURL"),
        ({"order_result_url": "https://pay.example/payment/ecpay/return"}, "OrderResultURL"),
        ({"choose_payment": "Bitcoin"}, "ChoosePayment"),
        ({"custom_fields": ("a" * 51,)}, "CustomField1"),
        ({"custom_fields": ("1", "2", "3", "4", "5")}, "CustomField"),
        ({"atm_expire_days": 61, "choose_payment": ChoosePayment.ATM}, "ExpireDate"),
        ({"atm_expire_days": 3, "choose_payment": ChoosePayment.CVS}, "ExpireDate"),
        ({"store_expire": 31, "choose_payment": ChoosePayment.BARCODE}, "StoreExpireDate"),
        ({"store_expire": 10, "choose_payment": ChoosePayment.ALL}, "StoreExpireDate"),
        ({"remark": "r" * 101}, "Remark"),
    ],
)
def test_invalid_fields_are_reported_by_ecpay_name(changes: dict[str, object], field: str) -> None:
    assert field in _errors(dataclasses.replace(ORDER, **changes))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("plan", "field"),
    [
        (PeriodicPlan(991, "M", 1, 12, "https://p.example/x"), "PeriodAmount"),
        (PeriodicPlan(990, "W", 1, 12, "https://p.example/x"), "PeriodType"),
        (PeriodicPlan(990, "M", 13, 12, "https://p.example/x"), "Frequency"),
        (PeriodicPlan(990, "Y", 2, 5, "https://p.example/x"), "Frequency"),
        (PeriodicPlan(990, "M", 1, 1, "https://p.example/x"), "ExecTimes"),
        (PeriodicPlan(990, "M", 1, 100, "https://p.example/x"), "ExecTimes"),
        (PeriodicPlan(990, "D", 7, 1000, "https://p.example/x"), "ExecTimes"),
        (PeriodicPlan(990, "M", 1, 12, ""), "PeriodReturnURL"),
    ],
)
def test_invalid_periodic_plans_are_refused(plan: PeriodicPlan, field: str) -> None:
    order = dataclasses.replace(ORDER, choose_payment=ChoosePayment.CREDIT, periodic=plan)
    assert field in _errors(order)


def test_periodic_needs_credit() -> None:
    plan = PeriodicPlan(990, "M", 1, 12, "https://p.example/x")
    assert "ChoosePayment" in _errors(dataclasses.replace(ORDER, periodic=plan))


def test_all_errors_are_reported_together() -> None:
    errors = _errors(dataclasses.replace(ORDER, merchant_trade_no="bad no", total_amount=0))
    assert {"MerchantTradeNo", "TotalAmount"} <= errors.keys()


def test_credentials_come_from_settings_without_leaking_keys() -> None:
    settings = Settings(
        ecpay_merchant_id="1234567",
        ecpay_hash_key="k" * 16,
        ecpay_hash_iv="v" * 16,
        ecpay_gateway_url="http://127.0.0.1:8002/",
    )
    creds = credentials_from_settings(settings)
    assert creds == EcpayCredentials("1234567", "k" * 16, "v" * 16, "http://127.0.0.1:8002")
    assert creds.checkout_url == "http://127.0.0.1:8002/Cashier/AioCheckOut/V5"
    assert "k" * 16 not in repr(creds)


def test_checkout_form_html_escapes_values() -> None:
    form = build_checkout(CREDS, dataclasses.replace(ORDER, item_name='Pro "x" & co'), now=NOW)
    page = form.to_html()
    assert 'value="Pro &quot;x&quot; &amp; co"' in page
    assert form.fields["CheckMacValue"] in page
