"""E-invoice details in the dashboard: what an order POST and an account PATCH carry, the
API's field errors in the customer's language, and what an invoice says about its 統一發票."""

from __future__ import annotations

import pytest
from fluxus_ui.i18n import translate
from fluxus_ui.models import EInvoice, Invoice, InvoicePreference, Order, User
from fluxus_ui.stores import einvoices

pytestmark = pytest.mark.unit


def zh(key: str, **values: object) -> str:
    return translate(key, "zh-TW", **values)


def en(key: str, **values: object) -> str:
    return translate(key, "en", **values)


def test_only_the_chosen_kinds_fields_are_sent() -> None:
    pref = InvoicePreference(kind="donation", carrier_num="/ABC1234", love_code="919",
                             tax_id="22099131")
    assert pref.to_order_json() == {"kind": "donation", "love_code": "919"}
    assert pref.to_user_changes() == {"invoice_kind": "donation", "invoice_love_code": "919"}
    company = InvoicePreference(kind="company", tax_id="22099131", company_name="台積電",
                                company_print=True, address="新竹市力行六路8號")
    assert company.to_user_changes() == {
        "invoice_kind": "company", "tax_id": "22099131", "company_name": "台積電",
        "invoice_print": True, "invoice_address": "新竹市力行六路8號"}


def test_the_account_and_an_order_read_their_preference() -> None:
    user = User.from_json({"id": "u", "username": "mei", "email": "mei@example.tw",
                           "invoice_kind": "mobile_barcode", "invoice_carrier_num": "/ABC+123",
                           "tax_id": "22099131", "invoice_print": False})
    assert (user.invoice.kind, user.invoice.carrier_num) == ("mobile_barcode", "/ABC+123")
    order = Order.from_json({"id": "o", "order_number": "N1", "status": "pending",
                             "amount": "990", "payment_method": "atm",
                             "invoice_preference": {"kind": "donation", "love_code": "919"}})
    assert order.invoice_preference == InvoicePreference(kind="donation", love_code="919")
    assert Order.from_json({"invoice_preference": None}).invoice_preference is None


@pytest.mark.parametrize(("pref", "api_field", "field", "shown"), [
    (InvoicePreference(kind="mobile_barcode", carrier_num="ABC1234"), "invoice_carrier_num",
     "carrier_num", "手機條碼格式不正確：「/」加 7 碼英數字或 . + -"),
    (InvoicePreference(kind="certificate", carrier_num="AB12"), "invoice.carrier_num",
     "carrier_num", "自然人憑證號碼為 2 個英文字母加 14 位數字"),
    (InvoicePreference(kind="donation", love_code="1x"), "invoice.love_code", "love_code",
     "捐贈碼為 3 至 7 位數字"),
    (InvoicePreference(kind="company", tax_id="22099132", company_name="台積電"), "tax_id",
     "tax_id", "此統一編號不存在，請檢查是否輸入錯誤"),
    (InvoicePreference(kind="company", tax_id="2209913", company_name="台積電"),
     "invoice.tax_id", "tax_id", "統一編號為 8 位數字"),
    (InvoicePreference(kind="company", tax_id="22099131", company_print=True), "invoice_address",
     "address", "此欄位為必填"),
    (InvoicePreference(kind="company", tax_id="22099131", company_name=" "), "company_name",
     "company_name", "此欄位為必填"),
])
def test_each_api_field_error_lands_on_its_field_in_chinese(
    pref: InvoicePreference, api_field: str, field: str, shown: str
) -> None:
    assert einvoices.field_errors(pref, {api_field: "Some English."}, zh) == {field: shown}


def test_an_error_the_dashboard_cannot_explain_keeps_the_apis_words() -> None:
    pref = InvoicePreference(kind="paper")
    errors = einvoices.field_errors(pref, {"invoice_kind": "Must be one of: cloud."}, en)
    assert errors == {"kind": "Must be one of: cloud."}


@pytest.mark.parametrize(("pref", "text"), [
    (InvoicePreference(), "電子發票：存入綠界會員載具（mei@example.tw）"),
    (InvoicePreference(kind="donation", love_code="919"), "電子發票：捐贈 919"),
    (InvoicePreference(kind="company", tax_id="22099131", company_name="台積電"),
     "電子發票：公司 統編 22099131（台積電）"),
    (InvoicePreference(kind="mobile_barcode", carrier_num="/ABC+123"),
     "電子發票：手機條碼 /ABC+123"),
])
def test_checkout_says_which_invoice_the_order_gets(pref: InvoicePreference, text: str) -> None:
    assert zh("einv.summary", what=einvoices.summary(pref, "mei@example.tw", zh)) == text


def test_an_issued_einvoice_shows_number_date_random_number_and_carrier() -> None:
    invoice = Invoice.from_json({"id": "i", "invoice_number": "2027-1", "order_id": "o",
                                 "amount": "943", "tax_amount": "47", "total_amount": "990",
                                 "einvoice": {"status": "issued", "number": "AB-12345678",
                                              "invoice_date": "2027-01-31T16:30:00Z",
                                              "random_number": "4821", "carrier_type": "3",
                                              "carrier_num": "/ABC1234"}})
    assert invoice.einvoice is not None
    assert einvoices.details(invoice.einvoice, en) == [
        ("Uniform invoice number", "AB-12345678"), ("Invoice date", "2027-02-01"),
        ("Random number", "4821"), ("Carrier", "Mobile barcode /ABC1234")]
    assert einvoices.note(invoice.einvoice) == ""
    assert Invoice.from_json({"einvoice": None}).einvoice is None


@pytest.mark.parametrize(("status", "reason", "says"), [
    ("pending", "", "電子發票開立中"),
    ("failed", "", "已通知客服人員"),
    ("not_issued", "einvoicing_disabled", "由商家另行開立"),
    ("not_issued", "zero_total", "不開立發票"),
])
def test_an_invoice_without_a_number_says_why(status: str, reason: str, says: str) -> None:
    assert says in zh(einvoices.note(EInvoice(status=status, reason=reason)))


def test_a_donated_or_company_invoice_names_the_code_or_the_tax_id() -> None:
    donated = EInvoice(status="issued", number="AB-1", love_code="919")
    company = EInvoice(status="issued", number="AB-2", buyer_tax_id="22099131", carrier_type="1")
    assert einvoices.delivery(donated, zh) == ("捐贈", "捐贈碼 919")
    assert einvoices.delivery(company, zh) == ("買方統編", "22099131")
