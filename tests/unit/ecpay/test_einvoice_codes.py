"""Classification of ECPay's e-invoice answers on RtnCode and RtnMsg (RESEARCH §1.2)."""

from __future__ import annotations

import pytest

from services.ecpay.einvoice import (
    EInvoiceAlreadyVoided,
    EInvoiceCutoffPassed,
    EInvoiceDuplicate,
    EInvoiceError,
    EInvoiceHasAllowances,
    EInvoiceNotFound,
    EInvoiceRangeExhausted,
    EInvoiceRefused,
    EInvoiceTransient,
)
from services.ecpay.einvoice.codes import as_int, classify

pytestmark = pytest.mark.unit

TABLE: list[tuple[int, str, type[EInvoiceError]]] = [
    (10000009, "RelateNumber duplicate", EInvoiceDuplicate),
    (5070357, "", EInvoiceDuplicate),
    (0, "該自訂編號已存在，自訂編號不可重複", EInvoiceDuplicate),
    (0, "系統忙碌中，請稍後再試", EInvoiceTransient),
    (9000001, "呼叫財政部API失敗", EInvoiceTransient),
    (1100040, "", EInvoiceRangeExhausted),
    (0, "發票字軌已用罄", EInvoiceRangeExhausted),
    (5070450, "", EInvoiceHasAllowances),
    (5070453, "", EInvoiceAlreadyVoided),
    (0, "發票已作廢過", EInvoiceAlreadyVoided),
    (2000063, "", EInvoiceAlreadyVoided),
    (5070451, "已超過發票作廢期限", EInvoiceCutoffPassed),
    (2, "查無發票資料", EInvoiceNotFound),
    (1600003, "", EInvoiceNotFound),
    (4000001, "", EInvoiceNotFound),
    (2000039, "", EInvoiceNotFound),
    (0, "資料解密錯誤", EInvoiceRefused),
    (0, "特店編號不存在", EInvoiceRefused),
    (10000002, "CustomerAddr 為必填", EInvoiceRefused),
    (123456, "something new", EInvoiceRefused),
]


@pytest.mark.parametrize(("code", "message", "expected"), TABLE)
def test_each_answer_maps_to_what_the_caller_must_do(
    code: int, message: str, expected: type[EInvoiceError]
) -> None:
    error = classify(code, message)
    assert type(error) is expected
    assert error is not None
    assert (error.code, error.message) == (code, message)


def test_success_is_no_error() -> None:
    assert classify(1, "成功") is None


def test_refusal_subclasses_stay_refusals() -> None:
    # A caller catching EInvoiceRefused also catches the specific permanent refusals.
    for kind in (EInvoiceRangeExhausted, EInvoiceCutoffPassed, EInvoiceHasAllowances):
        assert issubclass(kind, EInvoiceRefused)
    assert not issubclass(EInvoiceDuplicate, EInvoiceRefused)
    assert not issubclass(EInvoiceTransient, EInvoiceRefused)


@pytest.mark.parametrize(("value", "expected"), [(1, 1), ("1", 1), (" 0 ", 0), ("-1", -1)])
def test_codes_arrive_as_ints_or_strings(value: object, expected: int) -> None:
    assert as_int(value) == expected


@pytest.mark.parametrize("value", [True, None, "", "x1", 1.0])
def test_non_codes_are_rejected(value: object) -> None:
    with pytest.raises(ValueError):
        as_int(value)
