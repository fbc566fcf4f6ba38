"""Notification parsing (ReturnURL, PaymentInfoURL, PeriodReturnURL) and verification."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from services.core.errors import PaymentRejected, ValidationError
from services.ecpay.checkmac import sign
from services.ecpay.credentials import EcpayCredentials
from services.ecpay.notifications import (
    PaymentInfoNotification,
    PaymentNotification,
    PeriodNotification,
    verify_notification,
)

pytestmark = pytest.mark.unit

CREDS = EcpayCredentials.stage()
TAIPEI_OFFSET = timedelta(hours=8)


def _sdk_sample(all_checkmac_vectors: list[dict[str, Any]]) -> dict[str, str]:
    vector = next(v for v in all_checkmac_vectors if v["id"] == "pub-sdkphp-checkout-response")
    return dict(vector["params"], CheckMacValue=vector["check_mac_value"])


def test_sdk_sample_return_notification_verifies_and_parses(
    all_checkmac_vectors: list[dict[str, Any]],
) -> None:
    form = verify_notification(_sdk_sample(all_checkmac_vectors), CREDS)
    note = PaymentNotification.from_form(form)
    assert note.paid and not note.simulate_paid
    assert note.merchant_trade_no == "WPLL4E341E122DB44D62"
    assert note.trade_no == "1905090000188278"
    assert note.trade_amt == 500
    assert note.payment_type_charge_fee == Decimal(1)
    assert note.payment_date == datetime(2019, 5, 9, 0, 1, 21, tzinfo=timezone(TAIPEI_OFFSET))
    assert note.payment_date.utcoffset() == TAIPEI_OFFSET
    assert note.raw["RtnMsg"] == "交易成功"


@pytest.mark.parametrize(
    ("field", "value"), [("TradeAmt", "5000"), ("RtnCode", "0"), ("Unknown", "x")]
)
def test_tampered_notification_is_rejected(
    all_checkmac_vectors: list[dict[str, Any]], field: str, value: str
) -> None:
    form = _sdk_sample(all_checkmac_vectors) | {field: value}
    with pytest.raises(PaymentRejected):
        verify_notification(form, CREDS)


def test_unknown_extra_fields_take_part_in_verification() -> None:
    form = sign(
        {"MerchantID": "3002607", "gwsr": "1", "card4no": "2222"}, CREDS.hash_key, CREDS.hash_iv
    )
    assert verify_notification(form, CREDS)["card4no"] == "2222"


def _return_form(**changes: str) -> dict[str, str]:
    base = {
        "MerchantID": "3002607",
        "MerchantTradeNo": "FX1",
        "RtnCode": "1",
        "RtnMsg": "paid",
        "TradeNo": "2501010000000001",
        "TradeAmt": "990",
        "PaymentDate": "2025/01/01 12:00:00",
        "PaymentType": "Credit_CreditCard",
        "PaymentTypeChargeFee": "27",
        "TradeDate": "2025/01/01 11:59:00",
        "SimulatePaid": "1",
        "CustomField1": "sub-1",
    }
    return {k: v for k, v in (base | changes).items() if v != "<absent>"}


def test_simulated_payment_and_custom_fields_are_exposed() -> None:
    note = PaymentNotification.from_form(_return_form())
    assert note.simulate_paid
    assert note.custom_fields == ("sub-1", "", "", "")


def test_failed_payment_without_payment_date_parses() -> None:
    note = PaymentNotification.from_form(_return_form(RtnCode="10100058", PaymentDate=""))
    assert not note.paid and note.payment_date is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"MerchantTradeNo": "<absent>"}, "MerchantTradeNo"),
        ({"TradeAmt": "9.5"}, "TradeAmt"),
        ({"RtnCode": ""}, "RtnCode"),
        ({"PaymentDate": "2025-01-01T12:00:00"}, "PaymentDate"),
        ({"TradeDate": "<absent>"}, "TradeDate"),
        ({"SimulatePaid": "yes"}, "SimulatePaid"),
        ({"PaymentTypeChargeFee": "abc"}, "PaymentTypeChargeFee"),
    ],
)
def test_bad_or_missing_fields_raise_validation_error(changes: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        PaymentNotification.from_form(_return_form(**changes))
    assert field in caught.value.errors


def _info_form(**fields: str) -> dict[str, str]:
    return {
        "MerchantID": "3002607",
        "MerchantTradeNo": "FX2",
        "RtnMsg": "ok",
        "TradeNo": "2501010000000002",
        "TradeAmt": "990",
        "TradeDate": "2025/01/01 12:00:00",
        **fields,
    }


def test_atm_payment_info_is_typed() -> None:
    note = PaymentInfoNotification.from_form(
        _info_form(
            RtnCode="2",
            PaymentType="ATM_TAISHIN",
            BankCode="812",
            vAccount="9103522175887271",
            ExpireDate="2025/01/04",
        )
    )
    assert note.issued and note.method == "ATM"
    assert (note.bank_code, note.v_account) == ("812", "9103522175887271")
    assert note.expires_at == datetime(2025, 1, 4, 23, 59, 59, tzinfo=timezone(TAIPEI_OFFSET))


def test_cvs_and_barcode_payment_info_are_typed() -> None:
    cvs = PaymentInfoNotification.from_form(
        _info_form(
            RtnCode="10100073",
            PaymentType="CVS_CVS",
            PaymentNo="LLL22251222222",
            ExpireDate="2025/01/08 12:00:00",
            Barcode1="",
            Barcode2="",
            Barcode3="",
        )
    )
    assert cvs.issued and cvs.payment_no == "LLL22251222222"
    assert cvs.expires_at == datetime(2025, 1, 8, 12, tzinfo=timezone(TAIPEI_OFFSET))
    barcode = PaymentInfoNotification.from_form(
        _info_form(
            RtnCode="10100073",
            PaymentType="BARCODE_BARCODE",
            ExpireDate="2025/01/08 12:00:00",
            Barcode1="2501086G7",
            Barcode2="1",
            Barcode3="2",
        )
    )
    assert barcode.barcodes == ("2501086G7", "1", "2")


def test_atm_code_with_wrong_rtn_code_is_not_issued() -> None:
    note = PaymentInfoNotification.from_form(
        _info_form(RtnCode="10100073", PaymentType="ATM_TAISHIN")
    )
    assert not note.issued


@pytest.mark.parametrize(
    "changes",
    [
        {"RtnCode": "2", "PaymentType": "ATM_TAISHIN", "vAccount": "1", "ExpireDate": "2025/01/04"},
        {"RtnCode": "10100073", "PaymentType": "CVS_CVS", "ExpireDate": "tomorrow"},
        {"RtnCode": "x", "PaymentType": "CVS_CVS"},
    ],
)
def test_bad_payment_info_raises(changes: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        PaymentInfoNotification.from_form(_info_form(**changes))


def _period_form(**changes: str) -> dict[str, str]:
    return {
        "MerchantID": "3002607",
        "MerchantTradeNo": "FX3",
        "RtnCode": "1",
        "RtnMsg": "ok",
        "PeriodType": "M",
        "Frequency": "1",
        "ExecTimes": "12",
        "Amount": "990",
        "Gwsr": "11112345",
        "ProcessDate": "2025/02/01 03:00:00",
        "AuthCode": "777777",
        "FirstAuthAmount": "990",
        "TotalSuccessTimes": "2",
        **changes,
    }


def test_period_notification_is_typed() -> None:
    note = PeriodNotification.from_form(_period_form())
    assert note.paid and note.total_success_times == 2 and note.amount == 990
    assert note.process_date.utcoffset() == TAIPEI_OFFSET
    assert not note.simulate_paid


@pytest.mark.parametrize("field", ["TotalSuccessTimes", "Amount", "ProcessDate", "ExecTimes"])
def test_period_notification_missing_field_raises(field: str) -> None:
    form = _period_form()
    del form[field]
    with pytest.raises(ValidationError) as caught:
        PeriodNotification.from_form(form)
    assert field in caught.value.errors
