"""EInvoiceClient against a real simulator process: issuing, recovering lost answers, faults,
every refused Print/Donation/Carrier/統編 combination, and the envelope's own refusals."""

from __future__ import annotations

import dataclasses
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.ecpay.einvoice import (
    TAIPEI,
    EInvoiceClient,
    EInvoiceDuplicate,
    EInvoiceNotFound,
    EInvoiceRefused,
    EInvoiceTransient,
    InvoiceItem,
)
from tests.integration.ecpay_sim.einvoice_support import (
    STAGE,
    add_fault,
    client,
    invoices,
    issue_request,
    relate_number,
    simulator_process,
    wall_clock,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with simulator_process(tmp_path_factory.mktemp("einvoice-issue")) as url:
        yield url


def test_issue_gives_a_number_from_the_range_and_get_issue_reports_it(sim: str) -> None:
    before = datetime.now(UTC)
    request = issue_request()
    issued = client(sim).issue(request)
    assert re.fullmatch(r"AB\d{8}", issued.invoice_no)
    assert 10000000 <= int(issued.invoice_no[2:]) <= 10099999
    assert re.fullmatch(r"\d{4}", issued.random_number)
    assert issued.invoice_date.utcoffset() == timedelta(hours=8)
    assert before - timedelta(seconds=1) <= issued.invoice_date <= datetime.now(UTC)
    record = client(sim).get_issue(request.relate_number)
    assert (record.invoice_no, record.random_number) == (issued.invoice_no, issued.random_number)
    assert (record.sales_amount, record.remaining_allowance, record.voided) == (990, 990, False)
    page = httpx.get(f"{sim}/", timeout=10).text
    assert issued.invoice_no in page and request.relate_number in page


def test_invoice_numbers_are_not_reused(sim: str) -> None:
    numbers = {client(sim).issue(issue_request()).invoice_no for _ in range(3)}
    assert len(numbers) == 3


def test_a_duplicate_relate_number_is_refused_and_get_issue_recovers_the_number(sim: str) -> None:
    request = issue_request()
    first = client(sim).issue(request)
    # Uniqueness is case-insensitive at ECPay.
    again = dataclasses.replace(request, relate_number=request.relate_number.lower())
    with pytest.raises(EInvoiceDuplicate):
        client(sim).issue(again)
    assert client(sim).get_issue(again.relate_number).invoice_no == first.invoice_no


@pytest.mark.parametrize("kind", ["lose", "drop"])
def test_an_issue_whose_answer_was_lost_is_recovered_by_duplicate_then_get_issue(
    sim: str, kind: str
) -> None:
    request = issue_request()
    add_fault(sim, kind, endpoints=["Issue"])
    with pytest.raises(EInvoiceTransient):
        client(sim).issue(request)
    with pytest.raises(EInvoiceDuplicate):
        client(sim).issue(request)
    recovered = client(sim).get_issue(request.relate_number)
    stored = [row for row in invoices(sim) if row["relate_number"] == request.relate_number]
    assert [row["invoice_no"] for row in stored] == [recovered.invoice_no]


def test_busy_is_transient_and_issues_nothing(sim: str) -> None:
    request = issue_request()
    add_fault(sim, "busy", count=2, endpoints=["Issue"])
    for _ in range(2):
        with pytest.raises(EInvoiceTransient) as caught:
            client(sim).issue(request)
        assert "系統忙碌" in caught.value.message
    with pytest.raises(EInvoiceNotFound):
        client(sim).get_issue(request.relate_number)
    assert client(sim).issue(request).invoice_no


def test_http_403_is_transient_with_a_thirty_minute_pause(sim: str) -> None:
    add_fault(sim, "too_fast")
    with pytest.raises(EInvoiceTransient) as caught:
        client(sim).issue(issue_request())
    assert (caught.value.code, caught.value.retry_after) == (403, 1800)


def test_a_gateway_that_never_answers_is_a_transient_timeout() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        einvoice = EInvoiceClient(url, *STAGE, now=wall_clock(), timeout=0.3)
        with einvoice, pytest.raises(EInvoiceTransient) as caught:
            einvoice.issue(issue_request())
    assert "Timeout" in caught.value.message
    assert caught.value.code == 0


def test_get_issue_of_an_unknown_relate_number_is_not_found(sim: str) -> None:
    with pytest.raises(EInvoiceNotFound):
        client(sim).get_issue(relate_number())


def _item(amount: int) -> tuple[InvoiceItem, ...]:
    return (InvoiceItem("Fluxus Pro 月費", 1, "月", amount, amount),)


PRINTED = {"print_flag": True, "customer_name": "王小明", "customer_addr": "台北市信義路五段7號"}
COMPANY = {"customer_identifier": "12345678", "customer_name": "富樂思股份有限公司"}

REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "no e-mail or phone": ({"customer_email": ""}, "CustomerEmail"),
    "print without name": ({**PRINTED, "customer_name": "", "carrier_type": ""}, "CustomerName"),
    "print without address": ({**PRINTED, "customer_addr": "", "carrier_type": ""}, "CustomerAddr"),
    "donation without love code": ({"donation": True, "carrier_type": ""}, "LoveCode"),
    "donation with a bad love code": (
        {"donation": True, "love_code": "12", "carrier_type": ""},
        "LoveCode",
    ),
    "donation printed": (
        {**PRINTED, "donation": True, "love_code": "168001", "carrier_type": ""},
        "Print=0",
    ),
    "donation with 統編": (
        {"donation": True, "love_code": "168001", "carrier_type": "", **COMPANY},
        "CustomerIdentifier",
    ),
    "donation with a carrier": ({"donation": True, "love_code": "168001"}, "CarrierType"),
    "love code without donation": ({"love_code": "168001"}, "LoveCode"),
    "統編 without carrier not printed": ({**COMPANY, "carrier_type": ""}, "Print=1"),
    "統編 of 7 digits": ({**COMPANY, **PRINTED, "customer_identifier": "1234567"}, "Identifier"),
    "member carrier printed": ({**PRINTED, "carrier_type": "1"}, "Print=0"),
    "citizen certificate printed": (
        {**PRINTED, "carrier_type": "2", "carrier_num": "AB12345678901234"},
        "Print=0",
    ),
    "citizen certificate malformed": (
        {"carrier_type": "2", "carrier_num": "ab12345678901234"},
        "CarrierNum",
    ),
    "mobile barcode without slash": (
        {"carrier_type": "3", "carrier_num": "ABC12345"},
        "CarrierNum",
    ),
    "mobile barcode lowercase": ({"carrier_type": "3", "carrier_num": "/abc1234"}, "CarrierNum"),
    "mobile barcode too short": ({"carrier_type": "3", "carrier_num": "/ABC123"}, "CarrierNum"),
    "member carrier with a number": ({"carrier_type": "1", "carrier_num": "X1"}, "CarrierNum"),
    "easycard carrier": ({"carrier_type": "4", "carrier_num": "1234"}, "CarrierType"),
    "goes nowhere": ({"carrier_type": ""}, "CarrierType"),
    "total not the item sum": ({"sales_amount": 1000}, "SalesAmount"),
    "zero total": ({"sales_amount": 0, "items": _item(0)}, "SalesAmount"),
    "negative total": ({"sales_amount": -990, "items": _item(-990)}, "SalesAmount"),
    "item amount not count x price": (
        {"items": (InvoiceItem("Fluxus Pro 月費", 2, "月", 990, 990),)},
        "ItemAmount",
    ),
    "relate number with a dash": ({"relate_number": "FX-1"}, "RelateNumber"),
    "relate number of 31 characters": ({"relate_number": "F" * 31}, "RelateNumber"),
}


@pytest.mark.parametrize(("changes", "field"), REFUSED.values(), ids=REFUSED.keys())
def test_each_wrong_combination_is_refused_and_issues_nothing(
    sim: str, changes: dict[str, Any], field: str
) -> None:
    request = issue_request(**changes)
    with pytest.raises(EInvoiceRefused) as caught:
        client(sim).issue(request)
    assert field in caught.value.message
    assert not [row for row in invoices(sim) if row["relate_number"] == request.relate_number]


ACCEPTED: dict[str, dict[str, Any]] = {
    "mobile barcode": {"carrier_type": "3", "carrier_num": "/AB+-.12"},
    "mobile barcode printed with 統編": {
        **PRINTED,
        **COMPANY,
        "carrier_type": "3",
        "carrier_num": "/ABC1234",
    },
    "citizen certificate": {"carrier_type": "2", "carrier_num": "AB12345678901234"},
    "統編 printed": {**PRINTED, **COMPANY, "carrier_type": ""},
    "統編 on the member carrier": {**COMPANY, "carrier_type": "1"},
    "donation": {"donation": True, "love_code": "168001", "carrier_type": ""},
    "phone only": {"customer_email": "", "customer_phone": "0911222333"},
    "printed, no carrier": {**PRINTED, "carrier_type": ""},
}


@pytest.mark.parametrize("changes", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_the_allowed_combinations_are_issued(sim: str, changes: dict[str, Any]) -> None:
    request = issue_request(**changes)
    issued = client(sim).issue(request)
    assert client(sim).get_issue(request.relate_number).invoice_no == issued.invoice_no


@pytest.mark.parametrize("minutes", [11, -11])
def test_a_timestamp_more_than_ten_minutes_off_is_refused(sim: str, minutes: int) -> None:
    skewed = client(sim, now=wall_clock(timedelta(minutes=minutes)))
    with pytest.raises(EInvoiceRefused, match="Timestamp"):
        skewed.issue(issue_request())


def test_a_timestamp_nine_minutes_off_is_accepted(sim: str) -> None:
    assert client(sim, now=wall_clock(timedelta(minutes=9))).issue(issue_request()).invoice_no


def test_a_wrong_key_gets_the_decryption_refusal(sim: str) -> None:
    wrong = client(sim, keys=(STAGE[0], "x" * 16, STAGE[2]))
    with pytest.raises(EInvoiceRefused) as caught:
        wrong.issue(issue_request())
    assert "解密" in caught.value.message


def test_an_unknown_merchant_is_refused(sim: str) -> None:
    with pytest.raises(EInvoiceRefused, match="特店編號不存在"):
        client(sim, keys=("2000933", STAGE[1], STAGE[2])).issue(issue_request())


def test_barcode_and_love_code_checks(sim: str) -> None:
    einvoice = client(sim)
    assert einvoice.check_barcode("/ABC1234") is True
    assert einvoice.check_barcode("/ZZZ9999") is False
    assert einvoice.check_love_code("168001") is True
    assert einvoice.check_love_code("7654321") is False
    with pytest.raises(EInvoiceRefused, match="BarCode"):
        einvoice.check_barcode("ABC12345")
    with pytest.raises(EInvoiceRefused, match="LoveCode"):
        einvoice.check_love_code("12")


def test_an_mof_outage_makes_the_barcode_check_transient(sim: str) -> None:
    add_fault(sim, "mof_down", endpoints=["CheckBarcode"])
    with pytest.raises(EInvoiceTransient) as caught:
        client(sim).check_barcode("/ABC1234")
    assert caught.value.code == 9000001
    assert client(sim).check_barcode("/ABC1234") is True


def test_invoice_dates_are_taipei_days(sim: str) -> None:
    before = datetime.now(TAIPEI).date()
    issued = client(sim).issue(issue_request())
    assert issued.invoice_date.tzinfo is not None
    assert before <= issued.invoice_date.astimezone(TAIPEI).date() <= datetime.now(TAIPEI).date()
