"""The Data fields of each call, both ways: our values to ECPay's names and back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from services.ecpay.einvoice.errors import EInvoiceRefused
from services.ecpay.einvoice.models import (
    INV_TYPE,
    TAX_TYPE,
    VAT_INCLUDED,
    AllowanceResult,
    InvoiceItem,
    InvoiceRecord,
    IssuedInvoice,
    IssueRequest,
    PendingAllowance,
    format_invoice_date,
    parse_ecpay_datetime,
)

# Allowance notices by e-mail only: Fluxus always has the buyer's address.
NOTIFY_BY_EMAIL = "E"


def _flag(value: bool) -> str:
    return "1" if value else "0"


def items_data(items: Sequence[InvoiceItem]) -> list[dict[str, Any]]:
    return [
        {
            "ItemSeq": seq,
            "ItemName": item.name,
            "ItemCount": item.count,
            "ItemWord": item.word,
            "ItemPrice": item.price,
            "ItemTaxType": TAX_TYPE,
            "ItemAmount": item.amount,
        }
        for seq, item in enumerate(items, start=1)
    ]


def issue_data(request: IssueRequest) -> dict[str, Any]:
    return {
        "RelateNumber": request.relate_number,
        "CustomerID": request.customer_id,
        "CustomerIdentifier": request.customer_identifier,
        "CustomerName": request.customer_name,
        "CustomerAddr": request.customer_addr,
        "CustomerPhone": request.customer_phone,
        "CustomerEmail": request.customer_email,
        "ClearanceMark": "",
        "Print": _flag(request.print_flag),
        "Donation": _flag(request.donation),
        "LoveCode": request.love_code,
        "CarrierType": request.carrier_type,
        "CarrierNum": request.carrier_num,
        "TaxType": TAX_TYPE,
        "SalesAmount": request.sales_amount,
        "InvoiceRemark": request.remark,
        "Items": items_data(request.items),
        "InvType": INV_TYPE,
        "vat": VAT_INCLUDED,
    }


def allowance_data(
    invoice_no: str,
    invoice_date: date,
    amount: int,
    items: Sequence[InvoiceItem],
    reason: str,
    customer_name: str,
    notify_email: str,
) -> dict[str, Any]:
    return {
        "InvoiceNo": invoice_no,
        "InvoiceDate": format_invoice_date(invoice_date),
        "AllowanceNotify": NOTIFY_BY_EMAIL,
        "CustomerName": customer_name,
        "NotifyMail": notify_email,
        "NotifyPhone": "",
        "AllowanceAmount": amount,
        "Items": items_data(items),
        "Reason": reason,
    }


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if value is None or value == "":
        raise EInvoiceRefused(0, f"ECPay's answer lacks {name}: {dict(data)!r}")
    return str(value)


def _int(data: Mapping[str, Any], name: str) -> int:
    text = _text(data, name)
    try:
        return int(float(text)) if "." in text else int(text)
    except ValueError:
        raise EInvoiceRefused(0, f"ECPay's {name} is not a number: {text!r}") from None


def issued_invoice(data: Mapping[str, Any]) -> IssuedInvoice:
    return IssuedInvoice(
        invoice_no=_text(data, "InvoiceNo"),
        invoice_date=parse_ecpay_datetime(_text(data, "InvoiceDate")),
        random_number=_text(data, "RandomNumber"),
    )


def invoice_record(data: Mapping[str, Any]) -> InvoiceRecord:
    return InvoiceRecord(
        invoice_no=_text(data, "IIS_Number"),
        invoice_date=parse_ecpay_datetime(_text(data, "IIS_Create_Date")),
        random_number=_text(data, "IIS_Random_Number"),
        relate_number=_text(data, "IIS_Relate_Number"),
        sales_amount=_int(data, "IIS_Sales_Amount"),
        voided=str(data.get("IIS_Invalid_Status", "0")) == "1",
        remaining_allowance=_int(data, "IIS_Remain_Allowance_Amt"),
    )


def allowance_result(data: Mapping[str, Any]) -> AllowanceResult:
    return AllowanceResult(
        allowance_no=_text(data, "IA_Allow_No"),
        allowance_date=parse_ecpay_datetime(_text(data, "IA_Date")),
        remaining_amount=_int(data, "IA_Remain_Allowance_Amt"),
    )


def pending_allowance(data: Mapping[str, Any]) -> PendingAllowance:
    expires = data.get("IA_TempExpireDate")
    return PendingAllowance(
        allowance_no=_text(data, "IA_Allow_No"),
        expires_at=parse_ecpay_datetime(str(expires)) if expires else None,
    )


def is_exist(data: Mapping[str, Any]) -> bool:
    answer = _text(data, "IsExist").upper()
    if answer not in ("Y", "N"):
        raise EInvoiceRefused(0, f"ECPay's IsExist is neither Y nor N: {answer!r}")
    return answer == "Y"
