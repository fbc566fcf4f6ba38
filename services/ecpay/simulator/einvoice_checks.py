"""What the simulated B2C e-invoice API refuses in a request's decrypted Data.

Rules from REFERENCE §10.3 and billing RESEARCH §1.3. Where ECPay's exact behaviour (or its
return code) is not in the sources, the harsher reading is taken and marked "unknown".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

# Return codes. 10000002 (missing field) is from S-SKILL; ECPay's full code table (doc 7954)
# was not readable, so the code for a malformed or contradictory field is unknown: 10000006
# stands for all of them, and the message names the field.
MISSING = 10000002
INVALID = 10000006

RELATE_NUMBER = re.compile(r"[A-Za-z0-9]{1,30}")  # String(50) per S-SKILL; 30 is harsher
IDENTIFIER = re.compile(r"\d{8}")
LOVE_CODE = re.compile(r"\d{3,7}")
CITIZEN_CERTIFICATE = re.compile(r"[A-Z]{2}\d{14}")
MOBILE_BARCODE = re.compile(r"/[0-9A-Z.+\-]{7}")
PHONE = re.compile(r"\+?\d{6,20}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
INVOICE_NO = re.compile(r"[A-Z]{2}\d{8}")
INVOICE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Reason is String(20) in the legacy spec; the current limit is unknown, so 20.
MAX_REASON = 20
MAX_ITEM_WORD = 6


class SimAnswer(Exception):
    """A business refusal: rendered as Data {RtnCode, RtnMsg} with TransCode 1."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise SimAnswer(INVALID, f"{name} 格式錯誤: must be a string")
    return value


def required(data: Mapping[str, Any], name: str) -> str:
    value = _text(data, name)
    if not value.strip():
        raise SimAnswer(MISSING, f"{name} 為必填 (required)")
    return value


def _flag(data: Mapping[str, Any], name: str) -> bool:
    value = required(data, name)
    if value not in ("0", "1"):
        raise SimAnswer(INVALID, f"{name} 格式錯誤: must be '0' or '1'")
    return value == "1"


def amount(value: object, name: str) -> int:
    """A positive integer NT$ amount (ECPay's integer fields may arrive as strings)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise SimAnswer(INVALID, f"{name} 格式錯誤: must be an integer")
    text = str(value)
    if not text.isdigit():
        raise SimAnswer(INVALID, f"{name} 格式錯誤: must be a positive integer, got {text!r}")
    if int(text) <= 0:
        raise SimAnswer(INVALID, f"{name} 必須大於 0 (must be > 0)")
    return int(text)


def check_reason(data: Mapping[str, Any]) -> str:
    reason = required(data, "Reason")
    if len(reason) > MAX_REASON:
        raise SimAnswer(INVALID, f"Reason 長度不可超過 {MAX_REASON} (too long)")
    return reason


def check_invoice_ref(data: Mapping[str, Any]) -> tuple[str, str]:
    invoice_no, invoice_date = required(data, "InvoiceNo"), required(data, "InvoiceDate")
    if not INVOICE_NO.fullmatch(invoice_no):
        raise SimAnswer(INVALID, "InvoiceNo 格式錯誤 (2 letters + 8 digits)")
    if not INVOICE_DATE.fullmatch(invoice_date):
        raise SimAnswer(INVALID, "InvoiceDate 格式錯誤 (yyyy-MM-dd)")
    return invoice_no, invoice_date


def check_items(data: Mapping[str, Any], total_field: str) -> tuple[int, list[dict[str, Any]]]:
    """The total (``total_field``) and items; the total must equal the items' sum."""
    total = amount(data.get(total_field), total_field)
    items = data.get("Items")
    if not isinstance(items, list) or not items:
        raise SimAnswer(MISSING, "Items 為必填 (at least one item)")
    item_sum = 0
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise SimAnswer(INVALID, f"Items[{index}] 格式錯誤")
        item_sum += _check_item(item, index)
    if item_sum != total:
        raise SimAnswer(
            INVALID, f"{total_field} {total} 與商品合計 {item_sum} 不符 (must equal item sum)"
        )
    return total, items


def _check_item(item: dict[str, Any], index: int) -> int:
    where = f"Items[{index}]"
    required(item, "ItemName")
    word = required(item, "ItemWord")
    if len(word) > MAX_ITEM_WORD:
        raise SimAnswer(INVALID, f"{where}.ItemWord 長度不可超過 {MAX_ITEM_WORD}")
    count = _number(item.get("ItemCount"), f"{where}.ItemCount")
    price = _number(item.get("ItemPrice"), f"{where}.ItemPrice")
    item_amount = amount(item.get("ItemAmount"), f"{where}.ItemAmount")
    if count <= 0:
        raise SimAnswer(INVALID, f"{where}.ItemCount 必須大於 0")
    # Whether ECPay checks count x price = amount is unknown; a mismatch is refused here.
    if (count * price).quantize(Decimal(1), ROUND_HALF_UP) != item_amount:
        raise SimAnswer(INVALID, f"{where}.ItemAmount 不等於 ItemCount x ItemPrice")
    if str(item.get("ItemTaxType", "1")) != "1":
        raise SimAnswer(INVALID, f"{where}.ItemTaxType must be '1' (taxable) with TaxType 1")
    return item_amount


def _number(value: object, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise SimAnswer(INVALID, f"{name} 格式錯誤: must be a number")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise SimAnswer(INVALID, f"{name} 格式錯誤: must be a number") from None


def check_issue(data: Mapping[str, Any]) -> tuple[str, int]:
    """RelateNumber and SalesAmount of a valid Issue request; SimAnswer otherwise."""
    relate_number = required(data, "RelateNumber")
    if not RELATE_NUMBER.fullmatch(relate_number):
        raise SimAnswer(INVALID, "RelateNumber 格式錯誤 (1-30 letters or digits)")
    _check_tax_settings(data)
    _check_customer(data)
    _check_delivery(data)
    total, _ = check_items(data, "SalesAmount")
    return relate_number, total


def _check_tax_settings(data: Mapping[str, Any]) -> None:
    # ECPay accepts other tax types with more fields; this stand-in knows only Fluxus's one.
    if required(data, "TaxType") != "1":
        raise SimAnswer(INVALID, "TaxType: the simulator supports only '1' (taxable)")
    if required(data, "InvType") != "07":
        raise SimAnswer(INVALID, "InvType: the simulator supports only '07'")
    if _text(data, "vat") not in ("", "1"):
        raise SimAnswer(INVALID, "vat: the simulator supports only '1' (tax included)")


def _check_customer(data: Mapping[str, Any]) -> None:
    email, phone = _text(data, "CustomerEmail"), _text(data, "CustomerPhone")
    if not email and not phone:
        raise SimAnswer(MISSING, "CustomerEmail 或 CustomerPhone 至少填一項 (one is required)")
    if email and not EMAIL.fullmatch(email):
        raise SimAnswer(INVALID, "CustomerEmail 格式錯誤")
    if phone and not PHONE.fullmatch(phone):
        raise SimAnswer(INVALID, "CustomerPhone 格式錯誤")
    identifier = _text(data, "CustomerIdentifier")
    if identifier and not IDENTIFIER.fullmatch(identifier):
        raise SimAnswer(INVALID, "CustomerIdentifier 格式錯誤 (8 digits)")
    if len(_text(data, "CustomerID")) > 20:
        raise SimAnswer(INVALID, "CustomerID 長度不可超過 20")


def _check_delivery(data: Mapping[str, Any]) -> None:
    """Print / Donation / CarrierType / CustomerIdentifier combinations (RESEARCH §1.3)."""
    printed, donated = _flag(data, "Print"), _flag(data, "Donation")
    identifier = _text(data, "CustomerIdentifier")
    carrier, carrier_num = _text(data, "CarrierType"), _text(data, "CarrierNum")
    _check_carrier(carrier, carrier_num)
    if printed:
        for name in ("CustomerName", "CustomerAddr"):
            if not _text(data, name).strip():
                raise SimAnswer(MISSING, f"{name} 為必填 when Print=1")
    if donated:
        love_code = _text(data, "LoveCode")
        if not LOVE_CODE.fullmatch(love_code):
            raise SimAnswer(INVALID, "LoveCode 格式錯誤 (3-7 digits, required when Donation=1)")
        if printed:
            raise SimAnswer(INVALID, "Donation=1 requires Print=0")
        if identifier:
            raise SimAnswer(INVALID, "Donation=1 不可填 CustomerIdentifier")
        if carrier:
            # The doc allows a carrier with a donation, S-SKILL does not: the harsher reading.
            raise SimAnswer(INVALID, "Donation=1 requires CarrierType ''")
    elif _text(data, "LoveCode"):
        raise SimAnswer(INVALID, "LoveCode only with Donation=1")
    if carrier in ("1", "2") and printed:
        raise SimAnswer(INVALID, f"CarrierType {carrier} requires Print=0")
    if identifier and not carrier and not printed:
        raise SimAnswer(INVALID, "CustomerIdentifier without a carrier requires Print=1")
    if not (printed or donated or carrier):
        # Unknown whether ECPay accepts an invoice that goes nowhere; refused here.
        raise SimAnswer(INVALID, "Print=0 and Donation=0 require a CarrierType")


def _check_carrier(carrier: str, carrier_num: str) -> None:
    if carrier not in ("", "1", "2", "3"):
        # 4/5 (EasyCard/iPass) need CarrierNum2, which Fluxus never sends.
        raise SimAnswer(INVALID, "CarrierType: the simulator supports '', '1', '2', '3'")
    if carrier in ("", "1") and carrier_num:
        raise SimAnswer(INVALID, f"CarrierNum must be empty with CarrierType {carrier!r}")
    if carrier == "2" and not CITIZEN_CERTIFICATE.fullmatch(carrier_num):
        raise SimAnswer(INVALID, "CarrierNum 格式錯誤 (citizen certificate: 2 letters + 14 digits)")
    if carrier == "3" and not MOBILE_BARCODE.fullmatch(carrier_num):
        raise SimAnswer(INVALID, "CarrierNum 格式錯誤 (mobile barcode: '/' + 7 of 0-9A-Z.+-)")
