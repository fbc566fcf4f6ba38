"""A buyer's invoice choice becomes buyer fields ECPay accepts, or a field-level problem to show."""

from dataclasses import replace

import pytest

from services.core.domain.einvoice_buyer import (
    BuyerFields,
    InvalidInvoicePreference,
    InvoiceKind,
    InvoicePreference,
    InvoiceProblem,
    buyer_fields,
    ecpay_rule_violations,
    normalize,
    problem_codes,
    validate,
)

pytestmark = pytest.mark.unit

K = InvoiceKind
P = InvoiceProblem
EMAIL = "buyer@example.com"
TSMC = "22099131"


def issued(**changes: object) -> BuyerFields:
    """What a plain cloud-invoice buyer sends; each case states how its buyer differs."""
    plain = BuyerFields(
        customer_identifier="",
        customer_name="",
        customer_addr="",
        customer_email=EMAIL,
        customer_phone="",
        print_flag=False,
        donation=False,
        love_code="",
        carrier_type="1",
        carrier_num="",
    )
    return replace(plain, **changes)  # type: ignore[arg-type]


def company(**changes: object) -> InvoicePreference:
    pref = InvoicePreference(kind=K.COMPANY, tax_id=TSMC, company_name="台積電")
    return replace(pref, **changes)  # type: ignore[arg-type]


# (pref, contact keywords for buyer_fields, the BuyerFields expected or the problems expected)
CASES: dict[str, tuple[InvoicePreference, dict[str, str], BuyerFields | dict[str, P]]] = {
    # cloud: the ECPay member carrier, never printed
    "cloud by default": (InvoicePreference(), {}, issued()),
    "cloud keeps the person's name": (
        InvoicePreference(),
        {"name": " 王小明 "},
        issued(customer_name="王小明"),
    ),
    "cloud drops other kinds' fields": (
        InvoicePreference(
            kind=K.CLOUD,
            carrier_num="/ABC1234",
            love_code="168",
            tax_id=TSMC,
            company_name="X",
            address="Y",
            company_print=True,
        ),
        {},
        issued(),
    ),
    "cloud with a phone and no e-mail": (
        InvoicePreference(),
        {"email": "", "phone": "0912345678"},
        issued(customer_email="", customer_phone="0912345678"),
    ),
    "cloud with no way to reach the buyer": (
        InvoicePreference(),
        {"email": " ", "phone": ""},
        {"email": P.CONTACT_REQUIRED},
    ),
    # mobile barcode: carrier 3, never printed for a person
    "barcode": (
        InvoicePreference(kind=K.MOBILE_BARCODE, carrier_num="/AB.+-12"),
        {},
        issued(carrier_type="3", carrier_num="/AB.+-12"),
    ),
    "barcode typed in lower case with spaces": (
        InvoicePreference(kind=K.MOBILE_BARCODE, carrier_num=" /abc1234 "),
        {},
        issued(carrier_type="3", carrier_num="/ABC1234"),
    ),
    "barcode typed full-width by an IME": (
        InvoicePreference(kind=K.MOBILE_BARCODE, carrier_num="／ａｂｃ１２３４"),
        {},
        issued(carrier_type="3", carrier_num="/ABC1234"),
    ),
    "barcode with print asked: a person's carrier invoice stays unprinted": (
        InvoicePreference(kind=K.MOBILE_BARCODE, carrier_num="/ABC1234", company_print=True),
        {},
        issued(carrier_type="3", carrier_num="/ABC1234"),
    ),
    "barcode missing": (InvoicePreference(kind=K.MOBILE_BARCODE), {}, {"carrier_num": P.REQUIRED}),
    "barcode too short": (
        InvoicePreference(kind=K.MOBILE_BARCODE, carrier_num="/ABC123"),
        {},
        {"carrier_num": P.BARCODE_FORMAT},
    ),
    "barcode without its slash": (
        InvoicePreference(kind=K.MOBILE_BARCODE, carrier_num="ABC12345"),
        {},
        {"carrier_num": P.BARCODE_FORMAT},
    ),
    "barcode with a character outside 0-9A-Z.+-": (
        InvoicePreference(kind=K.MOBILE_BARCODE, carrier_num="/ABC_123"),
        {},
        {"carrier_num": P.BARCODE_FORMAT},
    ),
    "a certificate number entered as a barcode": (
        InvoicePreference(kind=K.MOBILE_BARCODE, carrier_num="AB12345678901234"),
        {},
        {"carrier_num": P.BARCODE_FORMAT},
    ),
    # citizen certificate: carrier 2
    "certificate": (
        InvoicePreference(kind=K.CERTIFICATE, carrier_num="ab12345678901234"),
        {},
        issued(carrier_type="2", carrier_num="AB12345678901234"),
    ),
    "certificate missing": (
        InvoicePreference(kind=K.CERTIFICATE, carrier_num="  "),
        {},
        {"carrier_num": P.REQUIRED},
    ),
    "certificate one digit short": (
        InvoicePreference(kind=K.CERTIFICATE, carrier_num="AB1234567890123"),
        {},
        {"carrier_num": P.CERTIFICATE_FORMAT},
    ),
    "certificate with a letter among the digits": (
        InvoicePreference(kind=K.CERTIFICATE, carrier_num="AB1234567890123X"),
        {},
        {"carrier_num": P.CERTIFICATE_FORMAT},
    ),
    "a barcode entered as a certificate": (
        InvoicePreference(kind=K.CERTIFICATE, carrier_num="/ABC1234"),
        {},
        {"carrier_num": P.CERTIFICATE_FORMAT},
    ),
    # donation: Print 0, no 統編, no carrier
    "donation": (
        InvoicePreference(kind=K.DONATION, love_code="8585"),
        {},
        issued(donation=True, love_code="8585", carrier_type=""),
    ),
    "donation with the shortest and a full-width code": (
        InvoicePreference(kind=K.DONATION, love_code="１２３"),
        {},
        issued(donation=True, love_code="123", carrier_type=""),
    ),
    "donation with the longest code": (
        InvoicePreference(kind=K.DONATION, love_code="1234567"),
        {},
        issued(donation=True, love_code="1234567", carrier_type=""),
    ),
    "donation never carries a stale 統編 or barcode": (
        InvoicePreference(
            kind=K.DONATION,
            love_code="8585",
            tax_id=TSMC,
            company_name="X",
            carrier_num="/ABC1234",
            company_print=True,
        ),
        {},
        issued(donation=True, love_code="8585", carrier_type=""),
    ),
    "donation code missing": (InvoicePreference(kind=K.DONATION), {}, {"love_code": P.REQUIRED}),
    "donation code of 2 digits": (
        InvoicePreference(kind=K.DONATION, love_code="12"),
        {},
        {"love_code": P.LOVE_CODE_FORMAT},
    ),
    "donation code of 8 digits": (
        InvoicePreference(kind=K.DONATION, love_code="12345678"),
        {},
        {"love_code": P.LOVE_CODE_FORMAT},
    ),
    "donation code with a letter": (
        InvoicePreference(kind=K.DONATION, love_code="85a5"),
        {},
        {"love_code": P.LOVE_CODE_FORMAT},
    ),
    # company, delivered to the ECPay member carrier: 統編 + carrier 1 → Print 0
    "company in the member carrier": (
        company(),
        {"name": "王小明"},
        issued(customer_identifier=TSMC, customer_name="台積電"),
    ),
    "company in the member carrier sends no address": (
        company(address="新竹科學園區力行六路8號", tax_id=f" {TSMC} "),
        {},
        issued(customer_identifier=TSMC, customer_name="台積電"),
    ),
    # company on paper: 統編 without carrier → Print 1 with name and address
    "company printed": (
        company(company_print=True, address=" 新竹科學園區力行六路8號 "),
        {"phone": "035636688"},
        issued(
            customer_identifier=TSMC,
            customer_name="台積電",
            customer_addr="新竹科學園區力行六路8號",
            customer_phone="035636688",
            print_flag=True,
            carrier_type="",
        ),
    ),
    "company printed without an address": (
        company(company_print=True),
        {},
        {"address": P.REQUIRED},
    ),
    "company without a name": (company(company_name="  "), {}, {"company_name": P.REQUIRED}),
    "company without a tax ID": (company(tax_id=""), {}, {"tax_id": P.REQUIRED}),
    "company tax ID of 7 digits": (company(tax_id="2209913"), {}, {"tax_id": P.TAX_ID_FORMAT}),
    "company tax ID with a typo": (company(tax_id="22099132"), {}, {"tax_id": P.TAX_ID_CHECKSUM}),
    "company tax ID released since 2023": (
        company(tax_id="04595252"),
        {},
        issued(customer_identifier="04595252", customer_name="台積電"),
    ),
    "company printed with nothing filled in and no contact": (
        InvoicePreference(kind=K.COMPANY, company_print=True),
        {"email": ""},
        {
            "tax_id": P.REQUIRED,
            "company_name": P.REQUIRED,
            "address": P.REQUIRED,
            "email": P.CONTACT_REQUIRED,
        },
    ),
}


@pytest.mark.parametrize(("pref", "contact", "expected"), CASES.values(), ids=CASES.keys())
def test_buyer_fields(
    pref: InvoicePreference, contact: dict[str, str], expected: BuyerFields | dict[str, P]
) -> None:
    keywords = {"email": EMAIL, **contact}
    if isinstance(expected, BuyerFields):
        fields = buyer_fields(pref, **keywords)
        assert fields == expected
        assert ecpay_rule_violations(fields) == []
        assert validate(pref) == {}
        return
    with pytest.raises(InvalidInvoicePreference) as caught:
        buyer_fields(pref, **keywords)
    assert isinstance(caught.value, ValueError)
    assert caught.value.problems == expected
    # The same problems, minus the contact details that are not part of the preference, are
    # what the form shows before anything is saved.
    about_pref = {field: code for field, code in expected.items() if field != "email"}
    assert problem_codes(pref) == about_pref
    assert validate(pref) == {field: code.message for field, code in about_pref.items()}


def test_every_problem_has_a_short_english_message() -> None:
    for problem in InvoiceProblem:
        assert 0 < len(problem.message) <= 80, problem


def test_normalize_is_idempotent_and_keeps_only_the_kinds_fields() -> None:
    raw = InvoicePreference(
        kind=K.COMPANY,
        carrier_num="/abc1234",
        love_code="8585",
        tax_id=" 22099131",
        company_name=" 台積電 ",
        address=" 新竹 ",
        company_print=True,
    )
    once = normalize(raw)
    assert once == InvoicePreference(
        kind=K.COMPANY, tax_id=TSMC, company_name="台積電", address="新竹", company_print=True
    )
    assert normalize(once) == once


def test_an_address_is_kept_only_for_a_paper_invoice() -> None:
    assert normalize(company(address="新竹")).address == ""
    assert normalize(company(address="新竹", company_print=True)).address == "新竹"


def test_a_kind_stored_as_plain_text_is_understood() -> None:
    pref = InvoicePreference(kind="donation", love_code="8585")  # type: ignore[arg-type]
    assert buyer_fields(pref, email=EMAIL).donation


# A valid starting point for each bad combination: a printed company invoice, or a donation.
PRINTED = issued(
    customer_identifier=TSMC,
    customer_name="台積電",
    customer_addr="新竹",
    print_flag=True,
    carrier_type="",
)
DONATED = issued(donation=True, love_code="8585", carrier_type="")

VIOLATIONS: dict[str, tuple[BuyerFields, str]] = {
    "donation printed": (replace(DONATED, print_flag=True), "requires Print=0"),
    "donation with a 統編": (replace(DONATED, customer_identifier=TSMC), "forbids"),
    "donation without a love code": (replace(DONATED, love_code=""), "LoveCode"),
    "donation with a 2-digit love code": (replace(DONATED, love_code="12"), "LoveCode"),
    "donation in a carrier": (replace(DONATED, carrier_type="1"), "CarrierType ''"),
    "love code without donation": (issued(love_code="8585"), "only sent with Donation=1"),
    "統編 failing the checksum": (replace(PRINTED, customer_identifier="22099132"), "統一編號"),
    "統編 with no carrier and no print": (replace(PRINTED, print_flag=False), "requires Print=1"),
    "統編 in the member carrier, printed": (replace(PRINTED, carrier_type="1"), "Print=0"),
    "統編 with a certificate, printed": (
        replace(PRINTED, carrier_type="2", carrier_num="AB12345678901234"),
        "Print=0",
    ),
    "a person's barcode invoice printed": (
        replace(PRINTED, customer_identifier="", carrier_type="3", carrier_num="/ABC1234"),
        "requires Print=0",
    ),
    "printed without an address": (replace(PRINTED, customer_addr=""), "CustomerAddr"),
    "printed without a name": (replace(PRINTED, customer_name=""), "CustomerName"),
    "no e-mail and no phone": (issued(customer_email=""), "CustomerPhone"),
    "an EasyCard carrier (needs CarrierNum2)": (
        issued(carrier_type="4", carrier_num="1234567890"),
        "not supported",
    ),
    "a barcode that is malformed": (issued(carrier_type="3", carrier_num="/abc1234"), "CarrierNum"),
    "a barcode sent as a certificate": (
        issued(carrier_type="2", carrier_num="/ABC1234"),
        "CarrierNum",
    ),
    "a carrier number with no carrier": (
        issued(carrier_type="", carrier_num="/ABC1234"),
        "CarrierNum",
    ),
    "a carrier number on the member carrier": (issued(carrier_num="buyer"), "CarrierNum"),
}


@pytest.mark.parametrize(("fields", "phrase"), VIOLATIONS.values(), ids=VIOLATIONS.keys())
def test_ecpay_refuses_bad_combinations(fields: BuyerFields, phrase: str) -> None:
    violations = ecpay_rule_violations(fields)
    assert any(phrase in violation for violation in violations), violations


ALLOWED: dict[str, BuyerFields] = {
    "the printed company invoice each bad combination starts from": PRINTED,
    "the donation each bad combination starts from": DONATED,
    "統編 with a barcode, printed": replace(PRINTED, carrier_type="3", carrier_num="/ABC1234"),
    "統編 with a barcode, not printed": replace(
        PRINTED, carrier_type="3", carrier_num="/ABC1234", print_flag=False, customer_addr=""
    ),
    "統編 with a certificate, not printed": replace(
        PRINTED, carrier_type="2", carrier_num="AB12345678901234", print_flag=False
    ),
    "a person's paper invoice": issued(
        customer_name="王小明", customer_addr="台北", print_flag=True, carrier_type=""
    ),
    "a donation reached by phone only": replace(
        DONATED, customer_email="", customer_phone="0912345678"
    ),
}


@pytest.mark.parametrize("fields", ALLOWED.values(), ids=ALLOWED.keys())
def test_ecpay_accepts_the_documented_combinations(fields: BuyerFields) -> None:
    assert ecpay_rule_violations(fields) == []
