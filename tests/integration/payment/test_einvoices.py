"""E-invoices from the payment path to ECPay's stand-in: recorded with the payment, issued
exactly once (duplicate jobs, a lost answer, a worker killed mid-issue), retried on busy,
a refusal kept for a person, corrected by void or allowance."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import EInvoice, EInvoiceAllowance, Order, User
from services.core.db.session import session_factory
from services.core.errors import Conflict
from services.core.ports import RecordingJobs
from services.core.usecases.audit import SYSTEM
from services.core.usecases.einvoices import corrections, issuing, queue
from services.core.usecases.einvoices.issuing import IssueOutcome
from services.core.usecases.payment_processing import complete_payment
from services.ecpay.einvoice import EInvoiceClient, EInvoiceTransient
from services.payment.resources.einvoice_consent import CONSENT_PATH
from tests.integration.ecpay_sim.einvoice_support import (
    add_fault,
    client,
    invoices,
    simulator_process,
)
from tests.integration.payment.conftest import NOW, Served, World, seed

pytestmark = pytest.mark.integration

PAID_AT = NOW


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with simulator_process(tmp_path_factory.mktemp("einvoice-core")) as url:
        yield url


@pytest.fixture
def gateway(sim: str) -> EInvoiceClient:
    return client(sim)


def pay(engine: Engine, settings: Settings, *, price: int = 990,
        user_fields: dict[str, object] | None = None) -> tuple[World, uuid.UUID]:
    """A paid first order (through the real use case); returns its e-invoice id."""
    world = seed(engine, price=price, user_fields=user_fields)
    jobs = RecordingJobs()
    with session_factory(engine)() as session:
        complete_payment(session, FixedClock(PAID_AT), jobs, order_id=world.order_id,
                         trade_no="2611261200009999", paid_at=PAID_AT, amount=price,
                         payment_type="Credit_CreditCard", raw={}, source="callback",
                         settings=settings)
        session.commit()
        row = session.scalars(select(EInvoice).where(EInvoice.order_id == world.order_id)).one()
    if row.status == "pending":
        assert ("issue_einvoice", (str(row.id),), f"einvoice-{row.id}") in jobs.pending
    return world, row.id


def issue(engine: Engine, gateway: EInvoiceClient, einvoice_id: uuid.UUID,
          at: datetime = PAID_AT) -> IssueOutcome:
    with session_factory(engine)() as session:
        outcome = issuing.issue(session, FixedClock(at), gateway, einvoice_id)
        session.commit()
    return outcome


def row_of(engine: Engine, einvoice_id: uuid.UUID) -> EInvoice:
    with session_factory(engine)() as session:
        row = session.get_one(EInvoice, einvoice_id)
        session.expunge(row)
        return row


def at_sim(sim: str, relate_number: str) -> list[dict[str, object]]:
    return [i for i in invoices(sim) if str(i["relate_number"]).upper() == relate_number]


def test_a_payment_gets_one_einvoice_with_its_number_date_and_random_number(
    engine: Engine, settings: Settings, gateway: EInvoiceClient, sim: str
) -> None:
    world, einvoice_id = pay(engine, settings)
    assert issue(engine, gateway, einvoice_id) is IssueOutcome.ISSUED
    row = row_of(engine, einvoice_id)
    assert row.status == "issued" and row.relate_number == world.order_number
    assert row.invoice_no and len(row.invoice_no) == 10 and row.random_number.isdigit()
    assert row.display_number == f"{row.invoice_no[:2]}-{row.invoice_no[2:]}"
    assert (row.sales_amount, row.tax_amount, row.remaining_allowance) == (990, 47, 990)
    [issued] = at_sim(sim, world.order_number)
    assert issued["invoice_no"] == row.invoice_no and issued["sales_amount"] == 990
    # A second job for the same e-invoice (a duplicate enqueue, the sweep) does nothing.
    assert issue(engine, gateway, einvoice_id) is IssueOutcome.NOT_PENDING
    assert len(at_sim(sim, world.order_number)) == 1


def test_an_answer_lost_after_ecpay_issued_is_recovered_not_issued_twice(
    engine: Engine, settings: Settings, gateway: EInvoiceClient, sim: str
) -> None:
    world, einvoice_id = pay(engine, settings)
    add_fault(sim, "lose", endpoints=["Issue"])
    assert issue(engine, gateway, einvoice_id) is IssueOutcome.RETRY
    lost = row_of(engine, einvoice_id)
    assert lost.status == "pending" and lost.next_attempt_at == PAID_AT + timedelta(seconds=60)
    assert len(at_sim(sim, world.order_number)) == 1  # ECPay did issue it
    with session_factory(engine)() as session:
        assert einvoice_id not in issuing.due(session, FixedClock(PAID_AT))
        assert einvoice_id in issuing.due(session, FixedClock(PAID_AT + timedelta(minutes=1)))
    assert issue(engine, gateway, einvoice_id, PAID_AT + timedelta(minutes=1)) is (
        IssueOutcome.RECOVERED)
    [issued] = at_sim(sim, world.order_number)
    assert row_of(engine, einvoice_id).invoice_no == issued["invoice_no"]


def test_a_worker_killed_mid_issue_leaves_it_pending_and_the_rerun_recovers_it(
    engine: Engine, settings: Settings, gateway: EInvoiceClient, sim: str
) -> None:
    world, einvoice_id = pay(engine, settings)
    with session_factory(engine)() as session:
        assert issuing.issue(session, FixedClock(PAID_AT), gateway, einvoice_id) is (
            IssueOutcome.ISSUED)
        session.rollback()  # the process died before its transaction committed
    assert row_of(engine, einvoice_id).status == "pending"
    with session_factory(engine)() as session:
        assert einvoice_id in issuing.due(session, FixedClock(PAID_AT))
    assert issue(engine, gateway, einvoice_id) is IssueOutcome.RECOVERED
    assert len(at_sim(sim, world.order_number)) == 1


def test_a_job_that_finds_the_einvoice_locked_walks_away(
    engine: Engine, settings: Settings, gateway: EInvoiceClient
) -> None:
    _, einvoice_id = pay(engine, settings)
    with session_factory(engine)() as holder:
        holder.scalars(select(EInvoice).where(EInvoice.id == einvoice_id).with_for_update()).one()
        assert issue(engine, gateway, einvoice_id) is IssueOutcome.BUSY
    assert issue(engine, gateway, einvoice_id) is IssueOutcome.ISSUED


@pytest.mark.parametrize(("fault", "wait"), [("busy", 60), ("too_fast", 1800)])
def test_busy_and_too_fast_are_retried_after_a_pause(
    engine: Engine, settings: Settings, gateway: EInvoiceClient, sim: str, fault: str, wait: int
) -> None:
    world, einvoice_id = pay(engine, settings)
    add_fault(sim, fault, endpoints=["Issue"])
    assert issue(engine, gateway, einvoice_id) is IssueOutcome.RETRY
    row = row_of(engine, einvoice_id)
    assert row.next_attempt_at == PAID_AT + timedelta(seconds=wait) and row.last_error
    assert at_sim(sim, world.order_number) == []
    assert issue(engine, gateway, einvoice_id, row.next_attempt_at) is IssueOutcome.ISSUED


def test_a_refusal_is_kept_for_staff_who_retry_once_the_customer_fixed_it(
    engine: Engine, settings: Settings, gateway: EInvoiceClient, sim: str
) -> None:
    world, einvoice_id = pay(engine, settings, user_fields={
        "invoice_kind": "mobile_barcode", "invoice_carrier_num": "/ABC1234"})
    with session_factory(engine)() as session:
        # A buyer ECPay refuses (a mobile barcode without the slash, as an old client sent).
        row = session.get_one(EInvoice, einvoice_id)
        row.buyer = {**row.buyer, "carrier_num": "ABC12345"}
        session.commit()
    assert issue(engine, gateway, einvoice_id) is IssueOutcome.FAILED
    failed = row_of(engine, einvoice_id)
    assert (failed.status, failed.reason) == ("failed", "refused") and failed.last_error
    assert at_sim(sim, world.order_number) == []
    jobs = RecordingJobs()
    with session_factory(engine)() as session:
        queue.retry(session, FixedClock(PAID_AT), jobs, SYSTEM, einvoice_id)
        session.commit()
    assert [name for name, _, _ in jobs.pending] == ["issue_einvoice"]
    assert issue(engine, gateway, einvoice_id) is IssueOutcome.ISSUED
    [issued] = at_sim(sim, world.order_number)
    assert issued["carrier_num"] == "/ABC1234"


def test_nothing_is_issued_for_a_zero_total_or_when_einvoicing_is_off(
    engine: Engine, settings: Settings
) -> None:
    _, free = pay(engine, settings, price=0)
    assert (row_of(engine, free).status, row_of(engine, free).reason) == (
        "not_issued", "zero_total")
    _, elsewhere = pay(engine, dataclasses.replace(settings, einvoice_enabled=False))
    assert (row_of(engine, elsewhere).status, row_of(engine, elsewhere).reason) == (
        "not_issued", "einvoicing_disabled")


def test_a_company_buyer_gets_its_tax_id_on_the_invoice(
    engine: Engine, settings: Settings, gateway: EInvoiceClient, sim: str
) -> None:
    world, einvoice_id = pay(engine, settings, user_fields={
        "invoice_kind": "company", "tax_id": "22099131", "company_name": "台灣積體電路製造"})
    assert issue(engine, gateway, einvoice_id) is IssueOutcome.ISSUED
    [issued] = at_sim(sim, world.order_number)
    assert issued["customer_identifier"] == "22099131"


def test_a_full_refund_voids_and_a_partial_one_makes_an_allowance(
    engine: Engine, settings: Settings, gateway: EInvoiceClient, sim: str
) -> None:
    _, full = pay(engine, settings)
    _, partial = pay(engine, settings)
    for einvoice_id in (full, partial):
        assert issue(engine, gateway, einvoice_id) is IssueOutcome.ISSUED
    later = FixedClock(PAID_AT + timedelta(days=3))
    with session_factory(engine)() as session:
        voided = corrections.correct_for_refund(
            session, later, gateway, einvoice_id=full, amount=990, reason="customer left",
            request_key="refund-full")
        allowed = corrections.correct_for_refund(
            session, later, gateway, einvoice_id=partial, amount=300, reason="downgrade",
            request_key="refund-partial")
        again = corrections.correct_for_refund(
            session, later, gateway, einvoice_id=partial, amount=300, reason="downgrade",
            request_key="refund-partial")
        session.commit()
    assert (voided.correction, allowed.correction) == ("void", "allowance")
    assert again.allowance_id == allowed.allowance_id  # asked twice, allowed once
    assert row_of(engine, full).status == "voided"
    assert row_of(engine, partial).remaining_allowance == 690
    sim_rows = {row["invoice_no"]: row for row in invoices(sim)}
    assert sim_rows[row_of(engine, full).invoice_no]["voided"] is True
    assert len(sim_rows[row_of(engine, partial).invoice_no]["allowances"]) == 1
    with session_factory(engine)() as session:
        allowance = session.get_one(EInvoiceAllowance, allowed.allowance_id)
        corrections.void_allowance(session, later, gateway, allowance.id, "wrong amount")
        session.commit()
    assert row_of(engine, partial).remaining_allowance == 990


def test_an_allowance_or_void_whose_answer_was_lost_is_recovered_not_made_twice(
    engine: Engine, settings: Settings, gateway: EInvoiceClient, sim: str
) -> None:
    """ECPay's Allowance and Invalid take no key it dedupes on: found by the lifecycle
    model, a retried allowance whose first answer was lost reduced the invoice twice (and
    the next refund's correction then crashed). The retry asks GetIssue first."""
    _, partial = pay(engine, settings)
    _, full = pay(engine, settings)
    for einvoice_id in (partial, full):
        assert issue(engine, gateway, einvoice_id) is IssueOutcome.ISSUED
    later = FixedClock(PAID_AT + timedelta(days=3))

    def correct(einvoice_id: uuid.UUID, amount: int, key: str, retry: bool) -> object:
        with session_factory(engine)() as session:
            result = corrections.correct_for_refund(
                session, later, gateway, einvoice_id=einvoice_id, amount=amount,
                reason="refund", request_key=key, after_unanswered=retry)
            session.commit()
            return result

    add_fault(sim, "lose", count=2, endpoints=["Allowance", "Invalid"])
    with pytest.raises(EInvoiceTransient):
        correct(partial, 495, "refund-a", retry=False)
    with pytest.raises(EInvoiceTransient):
        correct(full, 990, "refund-b", retry=False)
    allowed = correct(partial, 495, "refund-a", retry=True)
    voided = correct(full, 990, "refund-b", retry=True)

    sim_rows = {row["invoice_no"]: row for row in invoices(sim)}
    assert len(sim_rows[row_of(engine, partial).invoice_no]["allowances"]) == 1  # not two
    assert row_of(engine, partial).remaining_allowance == 495
    assert allowed.correction == "allowance" and allowed.allowance_id is not None
    with session_factory(engine)() as session:
        kept = session.get_one(EInvoiceAllowance, allowed.allowance_id)
        assert (kept.status, kept.amount, kept.allowance_no) == ("issued", 495, None)
    assert voided.correction == "void" and row_of(engine, full).status == "voided"
    # The other half goes through as a normal allowance; then nothing is left to allow.
    assert correct(partial, 495, "refund-c", retry=False).correction == "allowance"
    assert row_of(engine, partial).remaining_allowance == 0
    with pytest.raises(Conflict) as refused:
        correct(partial, 1, "refund-d", retry=False)
    assert refused.value.code == "einvoice_allowance_exceeds"


def test_a_full_refund_after_the_filing_cutoff_is_an_allowance(
    engine: Engine, settings: Settings, gateway: EInvoiceClient
) -> None:
    _, einvoice_id = pay(engine, settings)
    assert issue(engine, gateway, einvoice_id) is IssueOutcome.ISSUED
    issued_on = row_of(engine, einvoice_id).invoice_date
    assert issued_on is not None
    # Sold in Nov–Dec: the period closes on Jan 13 (Taipei); a refund after it is a 折讓.
    after_cutoff = FixedClock(datetime(issued_on.year + 1, 1, 14, 0, 0, tzinfo=UTC))
    with session_factory(engine)() as session:
        result = corrections.correct_for_refund(
            session, after_cutoff, gateway, einvoice_id=einvoice_id, amount=990,
            reason="late refund", request_key="refund-late")
        session.commit()
    assert result.correction == "allowance"
    assert row_of(engine, einvoice_id).remaining_allowance == 0


def test_staff_see_the_einvoice_of_each_order(engine: Engine, settings: Settings) -> None:
    world, einvoice_id = pay(engine, settings)
    with session_factory(engine)() as session:
        page = queue.list_einvoices(session, status="pending", order_id=world.order_id)
        assert [row.id for row in page.items] == [einvoice_id]
        assert session.get_one(Order, world.order_id).status == "completed"
        assert session.get_one(User, world.user_id).invoice_kind == "cloud"


def test_a_used_up_number_range_fails_with_its_own_reason(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    # A simulator with a range of two numbers of its own.
    with simulator_process(tmp_path, "--einvoice-range", "10000000-10000001") as small:
        gateway = client(small)
        for _ in range(2):
            _, einvoice_id = pay(engine, settings)
            assert issue(engine, gateway, einvoice_id) is IssueOutcome.ISSUED
        _, last = pay(engine, settings)
        assert issue(engine, gateway, last) is IssueOutcome.FAILED
        assert row_of(engine, last).reason == "range_exhausted"
        gateway.close()


def test_an_online_allowance_exists_once_the_buyer_consents_at_ecpay(
    engine: Engine, settings: Settings, gateway: EInvoiceClient, sim: str,
    serve: Callable[..., Served]
) -> None:
    payment = serve(settings)
    _, einvoice_id = pay(engine, settings)
    assert issue(engine, gateway, einvoice_id) is IssueOutcome.ISSUED
    later = FixedClock(PAID_AT + timedelta(days=1))
    with session_factory(engine)() as session:
        result = corrections.correct_for_refund(
            session, later, gateway, einvoice_id=einvoice_id, amount=200, reason="goodwill",
            request_key="refund-online", online=True,
            return_url=f"{payment.url}{CONSENT_PATH}")
        session.commit()
    assert result.pending_consent
    assert row_of(engine, einvoice_id).remaining_allowance == 990  # nothing agreed yet
    # A forged consent is refused and changes nothing.
    forged = httpx.post(f"{payment.url}{CONSENT_PATH}", data={
        "RtnCode": "1", "IA_Allow_No": "2027010100000001", "IA_Invoice_No": "AB00000000",
        "CheckMacValue": "0" * 32}, timeout=10)
    assert (forged.status_code, forged.text[:2]) == (400, "0|")
    with session_factory(engine)() as session:
        allowance = session.get_one(EInvoiceAllowance, result.allowance_id)
        assert allowance.status == "pending_consent" and allowance.allowance_no
        allowance_no = allowance.allowance_no
    consented = httpx.post(f"{sim}/_sim/einvoice/allowances/{allowance_no}/consent", timeout=10)
    assert consented.status_code == 200, consented.text
    with session_factory(engine)() as session:
        allowance = session.get_one(EInvoiceAllowance, result.allowance_id)
        assert allowance.status == "issued"
    assert row_of(engine, einvoice_id).remaining_allowance == 790
