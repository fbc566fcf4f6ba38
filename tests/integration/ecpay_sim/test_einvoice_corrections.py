"""Voids and allowances through EInvoiceClient against a real simulator process: idempotent
voids, allowances and what remains, refusals, and the online allowance's consent post."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from services.ecpay.einvoice import (
    EInvoiceHasAllowances,
    EInvoiceNotFound,
    EInvoiceRefused,
    InvoiceItem,
    IssuedInvoice,
    verify_allowance_consent,
)
from tests.integration.ecpay_sim.einvoice_support import (
    STAGE,
    client,
    issue_request,
    sim_invoice,
    simulator_process,
)

pytestmark = pytest.mark.integration

Receiver = Any  # the conftest fixture's type; tests must not import conftest


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with simulator_process(tmp_path_factory.mktemp("einvoice-corrections")) as url:
        yield url


def _issue(sim: str, amount: int = 990) -> IssuedInvoice:
    items = (InvoiceItem("Fluxus Pro 年費", 1, "年", amount, amount),)
    return client(sim).issue(issue_request(sales_amount=amount, items=items))


def _refund(amount: int) -> list[InvoiceItem]:
    return [InvoiceItem("退費 refund", 1, "式", amount, amount)]


def _allow(sim: str, invoice: IssuedInvoice, amount: int) -> Any:
    return client(sim).allowance(
        invoice.invoice_no,
        invoice.invoice_date.date(),
        amount,
        _refund(amount),
        "partial refund",
        customer_name="王小明",
        notify_email="buyer@example.com",
    )


def test_void_marks_the_invoice_voided_and_a_second_void_is_a_no_op(sim: str) -> None:
    invoice = _issue(sim)
    day = invoice.invoice_date.date()
    client(sim).invalid(invoice.invoice_no, day, "訂單取消")
    client(sim).invalid(invoice.invoice_no, day, "訂單取消")  # a retry after a lost answer
    row = sim_invoice(sim, invoice.invoice_no)
    assert (row["voided"], row["void_reason"]) == (True, "訂單取消")


def test_void_needs_the_right_invoice_date(sim: str) -> None:
    invoice = _issue(sim)
    with pytest.raises(EInvoiceNotFound):
        client(sim).invalid(invoice.invoice_no, invoice.invoice_date.date().replace(year=2020), "x")
    assert sim_invoice(sim, invoice.invoice_no)["voided"] is False


def test_a_void_reason_longer_than_twenty_characters_is_refused(sim: str) -> None:
    invoice = _issue(sim)
    with pytest.raises(EInvoiceRefused, match="Reason"):
        client(sim).invalid(invoice.invoice_no, invoice.invoice_date.date(), "x" * 21)


def test_allowances_reduce_what_remains_and_cannot_exceed_it(sim: str) -> None:
    invoice = _issue(sim, 1000)
    first = _allow(sim, invoice, 300)
    assert first.remaining_amount == 700
    assert len(first.allowance_no) == 16 and first.allowance_no.isdigit()
    assert _allow(sim, invoice, 700).remaining_amount == 0
    with pytest.raises(EInvoiceRefused, match="折讓金額"):
        _allow(sim, invoice, 1)
    record = client(sim).get_issue(sim_invoice(sim, invoice.invoice_no)["relate_number"])
    assert record.remaining_allowance == 0


def test_an_allowance_above_the_remaining_amount_is_refused_and_changes_nothing(sim: str) -> None:
    invoice = _issue(sim, 500)
    with pytest.raises(EInvoiceRefused):
        _allow(sim, invoice, 501)
    row = sim_invoice(sim, invoice.invoice_no)
    assert (row["remaining_allowance"], row["allowances"]) == (500, [])


def test_an_allowance_whose_items_do_not_add_up_is_refused(sim: str) -> None:
    invoice = _issue(sim)
    with pytest.raises(EInvoiceRefused, match="AllowanceAmount"):
        client(sim).allowance(
            invoice.invoice_no,
            invoice.invoice_date.date(),
            100,
            _refund(90),
            "refund",
            customer_name="王小明",
            notify_email="buyer@example.com",
        )


def test_void_is_refused_while_an_allowance_exists_then_allowed_after_voiding_it(
    sim: str,
) -> None:
    invoice = _issue(sim)
    allowance = _allow(sim, invoice, 100)
    day = invoice.invoice_date.date()
    with pytest.raises(EInvoiceHasAllowances) as caught:
        client(sim).invalid(invoice.invoice_no, day, "cancel")
    assert caught.value.code == 5070450
    client(sim).allowance_invalid(invoice.invoice_no, allowance.allowance_no, "wrong amount")
    client(sim).allowance_invalid(invoice.invoice_no, allowance.allowance_no, "wrong amount")
    row = sim_invoice(sim, invoice.invoice_no)
    assert row["allowances"][0]["state"] == "voided"
    assert row["remaining_allowance"] == 990
    client(sim).invalid(invoice.invoice_no, day, "cancel")
    assert sim_invoice(sim, invoice.invoice_no)["voided"] is True


def test_a_voided_invoice_takes_no_allowance(sim: str) -> None:
    invoice = _issue(sim)
    client(sim).invalid(invoice.invoice_no, invoice.invoice_date.date(), "cancel")
    with pytest.raises(EInvoiceRefused, match="作廢"):
        _allow(sim, invoice, 100)


def test_voiding_an_unknown_allowance_is_not_found(sim: str) -> None:
    invoice = _issue(sim)
    with pytest.raises(EInvoiceNotFound):
        client(sim).allowance_invalid(invoice.invoice_no, "2026010100000000", "x")


def _online(sim: str, invoice: IssuedInvoice, amount: int, return_url: str) -> Any:
    return client(sim).allowance_by_collegiate(
        invoice.invoice_no,
        invoice.invoice_date.date(),
        amount,
        _refund(amount),
        "online refund",
        customer_name="王小明",
        notify_email="buyer@example.com",
        return_url=return_url,
    )


def _consent(sim: str, allowance_no: str) -> httpx.Response:
    return httpx.post(f"{sim}/_sim/einvoice/allowances/{allowance_no}/consent", timeout=10)


def test_an_online_allowance_exists_only_after_consent_and_the_post_verifies_with_md5(
    sim: str, receiver: Receiver
) -> None:
    invoice = _issue(sim, 1000)
    path = f"/einvoice-consent/{uuid.uuid4().hex}"
    pending = _online(sim, invoice, 400, receiver.base_url + path)
    assert pending.expires_at is not None
    hours = (pending.expires_at - invoice.invoice_date).total_seconds() / 3600
    assert 71.9 < hours < 72.1
    row = sim_invoice(sim, invoice.invoice_no)
    assert [a["state"] for a in row["allowances"]] == ["pending"]
    assert row["remaining_allowance"] == 1000  # nothing allowed before the buyer agrees
    assert receiver.at(path) == []

    answer = _consent(sim, pending.allowance_no)
    assert answer.status_code == 200, answer.text
    assert answer.json()["delivery"]["status"] == 200
    [post] = receiver.at(path)
    consent = verify_allowance_consent(post.form, STAGE[1], STAGE[2], merchant_id=STAGE[0])
    assert (consent.allowance_no, consent.invoice_no) == (pending.allowance_no, invoice.invoice_no)
    assert consent.remaining_amount == 600
    assert sim_invoice(sim, invoice.invoice_no)["remaining_allowance"] == 600
    assert _consent(sim, pending.allowance_no).status_code == 409  # one consent only


def test_a_pending_online_allowance_holds_its_amount_and_blocks_the_void(
    sim: str, receiver: Receiver
) -> None:
    invoice = _issue(sim, 1000)
    _online(sim, invoice, 800, f"{receiver.base_url}/einvoice-consent/{uuid.uuid4().hex}")
    with pytest.raises(EInvoiceRefused):
        _allow(sim, invoice, 201)
    with pytest.raises(EInvoiceHasAllowances):
        client(sim).invalid(invoice.invoice_no, invoice.invoice_date.date(), "cancel")


def test_the_console_lists_allowances_with_a_consent_button(sim: str, receiver: Receiver) -> None:
    invoice = _issue(sim)
    pending = _online(sim, invoice, 90, f"{receiver.base_url}/einvoice-consent/x")
    page = httpx.get(f"{sim}/", timeout=10).text
    assert invoice.invoice_no in page
    assert f"/console/einvoice/allowances/{pending.allowance_no}/consent" in page
    pressed = httpx.post(f"{sim}/console/einvoice/allowances/{pending.allowance_no}/consent")
    assert pressed.status_code == 303
    assert sim_invoice(sim, invoice.invoice_no)["allowances"][0]["state"] == "issued"
