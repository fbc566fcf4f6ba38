"""Rules that follow ECPay's calendar or the account's set-up, each on a simulator process of
its own: the void cut-off of the bi-monthly filing, the 72-hour consent window, and the end of
the invoice number range."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.ecpay.einvoice import (
    TAIPEI,
    EInvoiceCutoffPassed,
    EInvoiceNotFound,
    EInvoiceRangeExhausted,
    InvoiceItem,
)
from tests.integration.ecpay_sim.einvoice_support import (
    advance_clock,
    client,
    issue_request,
    sim_invoice,
    simulator_process,
)

pytestmark = pytest.mark.integration

Receiver = Any


def filing_deadline(issued: datetime) -> datetime:
    """The test's own oracle: the two-month period's filing closes 23:59:59 on the 13th of the
    odd month after it (Jan-Feb -> Mar 13, ..., Nov-Dec -> Jan 13)."""
    local = issued.astimezone(TAIPEI)
    month = (local.month - 1) // 2 * 2 + 3
    year = local.year + (month > 12)
    return datetime(year, (month - 1) % 12 + 1, 13, 23, 59, 59, tzinfo=TAIPEI)


def test_the_oracle_agrees_with_the_documented_example() -> None:
    # RESEARCH §1.4: from 14 March, January and February invoices cannot be voided.
    assert filing_deadline(datetime(2026, 2, 10, tzinfo=TAIPEI)).date().isoformat() == "2026-03-13"
    assert filing_deadline(datetime(2026, 12, 1, tzinfo=TAIPEI)).date().isoformat() == "2027-01-13"


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[str]:
    with simulator_process(tmp_path) as url:
        yield url


def test_a_void_after_the_filing_cutoff_is_refused(sim: str) -> None:
    early, late = client(sim).issue(issue_request()), client(sim).issue(issue_request())
    deadline = filing_deadline(early.invoice_date)
    advance_clock(sim, (deadline - early.invoice_date).total_seconds() - 120)
    client(sim).invalid(early.invoice_no, early.invoice_date.date(), "before the cut-off")
    advance_clock(sim, 240)
    with pytest.raises(EInvoiceCutoffPassed):
        client(sim).invalid(late.invoice_no, late.invoice_date.date(), "after the cut-off")
    assert sim_invoice(sim, early.invoice_no)["voided"] is True
    assert sim_invoice(sim, late.invoice_no)["voided"] is False
    # What remains possible after the cut-off is an allowance.
    result = client(sim).allowance(
        late.invoice_no,
        late.invoice_date.date(),
        990,
        [InvoiceItem("退費", 1, "式", 990, 990)],
        "refund",
        customer_name="王小明",
        notify_email="buyer@example.com",
    )
    assert result.remaining_amount == 0


def test_an_online_allowance_not_agreed_within_72_hours_lapses(
    sim: str, receiver: Receiver
) -> None:
    invoice = client(sim).issue(issue_request())
    pending = client(sim).allowance_by_collegiate(
        invoice.invoice_no,
        invoice.invoice_date.date(),
        990,
        [InvoiceItem("退費", 1, "式", 990, 990)],
        "refund",
        customer_name="王小明",
        notify_email="buyer@example.com",
        return_url=f"{receiver.base_url}/einvoice-consent/lapsed",
    )
    advance_clock(sim, 72 * 3600 + 60)
    late = httpx.post(f"{sim}/_sim/einvoice/allowances/{pending.allowance_no}/consent", timeout=10)
    assert late.status_code == 409
    assert receiver.at("/einvoice-consent/lapsed") == []
    assert sim_invoice(sim, invoice.invoice_no)["allowances"][0]["state"] == "expired"


def test_the_number_range_runs_out_with_1100040(tmp_path: Path) -> None:
    args = ("--einvoice-track", "ZZ", "--einvoice-range", "10000000-10000001")
    with simulator_process(tmp_path, *args) as sim:
        numbers = [client(sim).issue(issue_request()).invoice_no for _ in range(2)]
        assert numbers == ["ZZ10000000", "ZZ10000001"]
        refused = issue_request()
        with pytest.raises(EInvoiceRangeExhausted) as caught:
            client(sim).issue(refused)
        assert caught.value.code == 1100040
        with pytest.raises(EInvoiceNotFound):
            client(sim).get_issue(refused.relate_number)
