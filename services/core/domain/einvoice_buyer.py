"""A buyer's e-invoice choice (carrier, donation, 統一編號) and the buyer fields of an Issue."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from enum import StrEnum

from services.core.domain.tax_ids import is_valid_tax_id


class InvoiceKind(StrEnum):
    CLOUD = "cloud"  # ECPay member carrier (CarrierType 1), notice by e-mail; the default
    MOBILE_BARCODE = "mobile_barcode"  # 手機條碼, CarrierType 3
    CERTIFICATE = "certificate"  # 自然人憑證, CarrierType 2
    DONATION = "donation"  # 捐贈碼 (love code)
    COMPANY = "company"  # 統一編號 + company name: a B2B buyer on a B2C invoice


@dataclass(frozen=True)
class InvoicePreference:
    kind: InvoiceKind = InvoiceKind.CLOUD
    carrier_num: str = ""  # the barcode or certificate number
    love_code: str = ""
    tax_id: str = ""  # 統一編號, company only
    company_name: str = ""
    address: str = ""  # only for a printed (paper) company invoice
    company_print: bool = False  # company: False → ECPay member carrier, True → paper


class InvoiceProblem(StrEnum):
    """Stable codes the UI translates; `message` is the English text."""

    REQUIRED = "required"
    BARCODE_FORMAT = "barcode_format"
    CERTIFICATE_FORMAT = "certificate_format"
    LOVE_CODE_FORMAT = "love_code_format"
    TAX_ID_FORMAT = "tax_id_format"
    TAX_ID_CHECKSUM = "tax_id_checksum"
    CONTACT_REQUIRED = "contact_required"

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES = {
    InvoiceProblem.REQUIRED: "Required.",
    InvoiceProblem.BARCODE_FORMAT: (
        "A mobile barcode is / followed by 7 of 0-9, A-Z, '.', '+', '-'."
    ),
    InvoiceProblem.CERTIFICATE_FORMAT: "A citizen certificate number is 2 letters and 14 digits.",
    InvoiceProblem.LOVE_CODE_FORMAT: "A donation code is 3 to 7 digits.",
    InvoiceProblem.TAX_ID_FORMAT: "A tax ID (統一編號) is 8 digits.",
    InvoiceProblem.TAX_ID_CHECKSUM: "This tax ID (統一編號) does not exist; check for a typo.",
    InvoiceProblem.CONTACT_REQUIRED: "An e-mail address or a phone number is required.",
}

# re.ASCII: \d would otherwise accept full-width and other Unicode digits ECPay refuses.
BARCODE = re.compile(r"/[0-9A-Z.+\-]{7}", re.ASCII)
CERTIFICATE = re.compile(r"[A-Z]{2}[0-9]{14}", re.ASCII)
LOVE_CODE = re.compile(r"[0-9]{3,7}", re.ASCII)
TAX_ID_SHAPE = re.compile(r"[0-9]{8}", re.ASCII)


def _code(value: str) -> str:
    # NFKC turns what a Chinese IME types (full-width ／ＡＢ１２) into the ASCII ECPay expects.
    return unicodedata.normalize("NFKC", value).strip().upper()


def normalize(pref: InvoicePreference) -> InvoicePreference:
    """Trimmed, upper-cased codes, and only the fields the chosen kind uses.

    Dropping the other kinds' fields means a buyer who switches from a company invoice to a
    donation never has a stale 統一編號 sent along with the love code.
    """
    kind = InvoiceKind(pref.kind)
    blank = InvoicePreference(kind=kind)
    if kind in (InvoiceKind.MOBILE_BARCODE, InvoiceKind.CERTIFICATE):
        return replace(blank, carrier_num=_code(pref.carrier_num))
    if kind is InvoiceKind.DONATION:
        return replace(blank, love_code=_code(pref.love_code))
    if kind is InvoiceKind.COMPANY:
        return replace(
            blank,
            tax_id=_code(pref.tax_id),
            company_name=pref.company_name.strip(),
            address=pref.address.strip() if pref.company_print else "",
            company_print=pref.company_print,
        )
    return blank


def problem_codes(pref: InvoicePreference) -> dict[str, InvoiceProblem]:
    """Field name → problem code for the normalized preference; empty when it is usable."""
    pref = normalize(pref)
    found: dict[str, InvoiceProblem] = {}
    if pref.kind is InvoiceKind.MOBILE_BARCODE:
        _check(found, "carrier_num", pref.carrier_num, BARCODE, InvoiceProblem.BARCODE_FORMAT)
    elif pref.kind is InvoiceKind.CERTIFICATE:
        _check(
            found, "carrier_num", pref.carrier_num, CERTIFICATE, InvoiceProblem.CERTIFICATE_FORMAT
        )
    elif pref.kind is InvoiceKind.DONATION:
        _check(found, "love_code", pref.love_code, LOVE_CODE, InvoiceProblem.LOVE_CODE_FORMAT)
    elif pref.kind is InvoiceKind.COMPANY:
        _check(found, "tax_id", pref.tax_id, TAX_ID_SHAPE, InvoiceProblem.TAX_ID_FORMAT)
        if "tax_id" not in found and not is_valid_tax_id(pref.tax_id):
            found["tax_id"] = InvoiceProblem.TAX_ID_CHECKSUM
        if not pref.company_name:
            found["company_name"] = InvoiceProblem.REQUIRED
        if pref.company_print and not pref.address:
            found["address"] = InvoiceProblem.REQUIRED
    return found


def _check(
    found: dict[str, InvoiceProblem],
    field: str,
    value: str,
    shape: re.Pattern[str],
    problem: InvoiceProblem,
) -> None:
    if not value:
        found[field] = InvoiceProblem.REQUIRED
    elif not shape.fullmatch(value):
        found[field] = problem


def validate(pref: InvoicePreference) -> dict[str, str]:
    """Field name → short English message; empty when the preference is usable."""
    return {field: problem.message for field, problem in problem_codes(pref).items()}


class InvalidInvoicePreference(ValueError):
    def __init__(self, found: dict[str, InvoiceProblem]) -> None:
        super().__init__(", ".join(f"{field}: {code}" for field, code in found.items()))
        self.problems = found


@dataclass(frozen=True)
class BuyerFields:
    """Exactly the buyer part of an ECPay B2C Issue (CustomerIdentifier … CarrierNum)."""

    customer_identifier: str
    customer_name: str
    customer_addr: str
    customer_email: str
    customer_phone: str
    print_flag: bool
    donation: bool
    love_code: str
    carrier_type: str
    carrier_num: str


# ECPay's CarrierType values.
CARRIER_NONE = ""
CARRIER_ECPAY_MEMBER = "1"
CARRIER_CERTIFICATE = "2"
CARRIER_MOBILE_BARCODE = "3"


def buyer_fields(
    pref: InvoicePreference, *, email: str, phone: str = "", name: str = ""
) -> BuyerFields:
    """What the Issue call carries for this buyer; raises InvalidInvoicePreference (a ValueError).

    `name` is the person's name, used unless the invoice is to a company.
    """
    pref = normalize(pref)
    found = problem_codes(pref)
    email, phone = email.strip(), phone.strip()
    if not email and not phone:
        found["email"] = InvoiceProblem.CONTACT_REQUIRED
    if found:
        raise InvalidInvoicePreference(found)
    base = BuyerFields(
        customer_identifier="",
        customer_name=name.strip(),
        customer_addr="",
        customer_email=email,
        customer_phone=phone,
        print_flag=False,
        donation=False,
        love_code="",
        carrier_type=CARRIER_NONE,
        carrier_num="",
    )
    return _apply_kind(base, pref)


def _apply_kind(base: BuyerFields, pref: InvoicePreference) -> BuyerFields:
    if pref.kind is InvoiceKind.MOBILE_BARCODE:
        return replace(base, carrier_type=CARRIER_MOBILE_BARCODE, carrier_num=pref.carrier_num)
    if pref.kind is InvoiceKind.CERTIFICATE:
        return replace(base, carrier_type=CARRIER_CERTIFICATE, carrier_num=pref.carrier_num)
    if pref.kind is InvoiceKind.DONATION:
        # The doc allows a carrier alongside a donation, ECPay's own skill table says ''; ''
        # satisfies both.
        return replace(base, donation=True, love_code=pref.love_code)
    if pref.kind is InvoiceKind.COMPANY:
        company = replace(base, customer_identifier=pref.tax_id, customer_name=pref.company_name)
        if pref.company_print:
            # With a 統編 and no carrier ECPay requires Print=1, and paper needs an address.
            return replace(company, print_flag=True, customer_addr=pref.address)
        # With a 統編 and carrier 1, Print must be 0: the invoice lives in the member carrier.
        return replace(company, carrier_type=CARRIER_ECPAY_MEMBER)
    return replace(base, carrier_type=CARRIER_ECPAY_MEMBER)


def ecpay_rule_violations(fields: BuyerFields) -> list[str]:
    """ECPay's combination rules for the buyer fields (RESEARCH §1.3, REFERENCE §10.3).

    Independent of how `buyer_fields` builds them, so a test can hold one against the other.
    Where the sources disagree this takes the stricter reading.
    """
    return [
        *_donation_violations(fields),
        *_identifier_violations(fields),
        *_carrier_violations(fields),
        *_contact_violations(fields),
    ]


def _donation_violations(f: BuyerFields) -> list[str]:
    out: list[str] = []
    if f.donation:
        if f.print_flag:
            out.append("Donation=1 requires Print=0")
        if f.customer_identifier:
            out.append("Donation=1 forbids a CustomerIdentifier")
        if not LOVE_CODE.fullmatch(f.love_code):
            out.append("Donation=1 requires a LoveCode of 3-7 digits")
        if f.carrier_type:
            out.append("Donation=1 takes CarrierType '' (ECPay's skill table)")
    elif f.love_code:
        out.append("LoveCode is only sent with Donation=1")
    return out


def _identifier_violations(f: BuyerFields) -> list[str]:
    if not f.customer_identifier:
        return []
    out: list[str] = []
    if not is_valid_tax_id(f.customer_identifier):
        out.append("CustomerIdentifier must be a valid 8-digit 統一編號")
    if not f.carrier_type and not f.print_flag:
        out.append("CustomerIdentifier without a carrier requires Print=1")
    return out


_CARRIER_NUM_SHAPES = {
    CARRIER_NONE: re.compile(r""),
    CARRIER_ECPAY_MEMBER: re.compile(r""),  # the carrier is the member's e-mail or phone
    CARRIER_CERTIFICATE: CERTIFICATE,
    CARRIER_MOBILE_BARCODE: BARCODE,
}


def _carrier_violations(f: BuyerFields) -> list[str]:
    shape = _CARRIER_NUM_SHAPES.get(f.carrier_type)
    if shape is None:
        # 4/5 (EasyCard, iPass) also need CarrierNum2, which these fields cannot carry.
        return [f"CarrierType {f.carrier_type!r} is not supported here"]
    out: list[str] = []
    if not shape.fullmatch(f.carrier_num):
        out.append(f"CarrierNum {f.carrier_num!r} does not fit CarrierType {f.carrier_type!r}")
    # A carrier invoice is not printed (for a 統編 buyer too, with carrier 1 or 2); the one
    # exception is a 統編 buyer with a mobile barcode, who may have it either way.
    barcode_company = f.customer_identifier and f.carrier_type == CARRIER_MOBILE_BARCODE
    if f.carrier_type and f.print_flag and not barcode_company:
        out.append(f"CarrierType {f.carrier_type} requires Print=0")
    if f.print_flag and not (f.customer_name and f.customer_addr):
        out.append("Print=1 requires CustomerName and CustomerAddr")
    return out


def _contact_violations(f: BuyerFields) -> list[str]:
    if f.customer_email or f.customer_phone:
        return []
    return ["CustomerEmail or CustomerPhone is required"]
