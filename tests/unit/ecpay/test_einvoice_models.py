"""E-invoice values on the wire: dates ECPay writes, and the Issue/Allowance Data we send."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from services.ecpay.einvoice import TAIPEI, InvoiceItem, IssueRequest
from services.ecpay.einvoice.models import parse_ecpay_datetime
from services.ecpay.einvoice.wire import allowance_data, invoice_record, issue_data

pytestmark = pytest.mark.unit

FIVE_PAST_FIVE = datetime(2019, 9, 17, 17, 5, 52, tzinfo=TAIPEI)


@pytest.mark.parametrize(
    "text",
    ["2019-09-17 17:05:52", "2019-09-17+17:05:52", "2019-09-17%2017:05:52", "2019/09/17 17:05:52"],
)
def test_invoice_dates_parse_in_every_seen_form(text: str) -> None:
    assert parse_ecpay_datetime(text) == FIVE_PAST_FIVE


def test_a_date_alone_is_midnight_in_taipei() -> None:
    assert parse_ecpay_datetime("2025-01-01") == datetime(2025, 1, 1, tzinfo=TAIPEI)


def test_garbage_is_not_a_date() -> None:
    with pytest.raises(ValueError, match="not an ECPay"):
        parse_ecpay_datetime("yesterday")


def test_issue_data_always_taxable_general_tax_included() -> None:
    request = IssueRequest(
        relate_number="FX20261207A1",
        sales_amount=1980,
        items=(InvoiceItem("Fluxus Pro 月費", 2, "月", 990, 1980),),
        customer_email="buyer@example.com",
        carrier_type="3",
        carrier_num="/ABC1234",
    )
    data = issue_data(request)
    assert (data["TaxType"], data["InvType"], data["vat"]) == ("1", "07", "1")
    assert (data["Print"], data["Donation"]) == ("0", "0")
    assert (data["CarrierType"], data["CarrierNum"]) == ("3", "/ABC1234")
    assert data["SalesAmount"] == 1980
    assert data["Items"] == [
        {
            "ItemSeq": 1,
            "ItemName": "Fluxus Pro 月費",
            "ItemCount": 2,
            "ItemWord": "月",
            "ItemPrice": 990,
            "ItemTaxType": "1",
            "ItemAmount": 1980,
        }
    ]


def test_allowance_data_names_the_invoice_by_number_and_date() -> None:
    data = allowance_data(
        "AB10000001",
        date(2026, 3, 2),
        100,
        [InvoiceItem("退費", 1, "式", 100, 100)],
        "refund",
        "王小明",
        "buyer@example.com",
    )
    assert (data["InvoiceNo"], data["InvoiceDate"]) == ("AB10000001", "2026-03-02")
    assert (data["AllowanceAmount"], data["AllowanceNotify"]) == (100, "E")
    assert data["NotifyMail"] == "buyer@example.com"


def test_get_issue_answer_reads_void_state_and_remaining_amount() -> None:
    record = invoice_record(
        {
            "IIS_Number": "AB10000001",
            "IIS_Create_Date": "2026-03-02 10:00:00",
            "IIS_Random_Number": "0042",
            "IIS_Relate_Number": "FX1",
            "IIS_Sales_Amount": "990",
            "IIS_Invalid_Status": "1",
            "IIS_Remain_Allowance_Amt": 0,
        }
    )
    assert (record.voided, record.remaining_allowance, record.sales_amount) == (True, 0, 990)
    assert record.random_number == "0042"
