"""Issuing a recorded e-invoice at ECPay, exactly once.

Exactly once rests on three things: the row is locked while its Issue call runs (a duplicate
job waits or walks away), only a `pending` row is sent, and the RelateNumber is the order
number — so when an answer was lost (worker killed, connection dropped), the retry meets
ECPay's "duplicate RelateNumber" and the number is recovered with GetIssue instead of a
second invoice being made."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core import metrics
from services.core.clock import Clock
from services.core.db.models import EInvoice, EmailDelivery, User
from services.core.ports import Jobs
from services.core.usecases import audit
from services.core.usecases.einvoices.states import EInvoiceStatus, FailureReason
from services.core.usecases.emails import queue_email
from services.core.usecases.payments.completion import INVOICE_PDF_JOB
from services.core.usecases.test_clocks import scope
from services.core.usecases.webhooks import events
from services.ecpay.einvoice import (
    EInvoiceClient,
    EInvoiceDuplicate,
    EInvoiceError,
    EInvoiceRangeExhausted,
    EInvoiceRefused,
    EInvoiceTransient,
    InvoiceItem,
    InvoiceRecord,
    IssuedInvoice,
    IssueRequest,
)

log = logging.getLogger(__name__)

# Seconds before the n-th retry after a transient failure; the last one repeats. The legal
# limit is two days, the alert fires at 24 h, so retries stay frequent.
BACKOFF = (60, 300, 900, 1800, 3600)


class IssueOutcome(StrEnum):
    ISSUED = "issued"
    RECOVERED = "recovered"  # issued before (answer lost); number read back with GetIssue
    RETRY = "retry"  # transient failure; the sweep sends it again at next_attempt_at
    FAILED = "failed"
    NOT_PENDING = "not_pending"  # already issued, failed, voided or not to be issued
    BUSY = "busy"  # another worker holds it right now


def _backoff(attempts: int, retry_after: float | None) -> timedelta:
    seconds = BACKOFF[min(attempts, len(BACKOFF)) - 1]
    return timedelta(seconds=max(seconds, retry_after or 0))


def issue_request(row: EInvoice) -> IssueRequest:
    buyer = row.buyer
    items = tuple(
        InvoiceItem(name=line["name"], count=line["count"], word=line["word"],
                    price=line["price"], amount=line["amount"])
        for line in row.items["lines"]
    )
    return IssueRequest(
        relate_number=row.relate_number, sales_amount=row.sales_amount, items=items,
        customer_email=buyer.get("customer_email", ""),
        customer_phone=buyer.get("customer_phone", ""),
        customer_identifier=buyer.get("customer_identifier", ""),
        customer_name=buyer.get("customer_name", ""),
        customer_addr=buyer.get("customer_addr", ""),
        print_flag=bool(buyer.get("print_flag")), donation=bool(buyer.get("donation")),
        love_code=buyer.get("love_code", ""), carrier_type=buyer.get("carrier_type", ""),
        carrier_num=buyer.get("carrier_num", ""),
    )


def _lock(session: Session, einvoice_id: uuid.UUID) -> EInvoice | None:
    return session.scalars(
        select(EInvoice).where(EInvoice.id == einvoice_id).with_for_update(skip_locked=True)
    ).one_or_none()


def _store(row: EInvoice, issued: IssuedInvoice, now: datetime) -> None:
    row.status = EInvoiceStatus.ISSUED.value
    row.invoice_no, row.invoice_date = issued.invoice_no, issued.invoice_date
    row.random_number = issued.random_number
    row.remaining_allowance = row.sales_amount
    row.issued_at, row.next_attempt_at, row.last_error, row.reason = now, None, "", ""


def _fail(session: Session, row: EInvoice, reason: FailureReason, message: str) -> None:
    row.status, row.reason = EInvoiceStatus.FAILED.value, reason.value
    row.last_error, row.next_attempt_at = message[:500], None
    audit.record(session, audit.SYSTEM, "einvoice.failed", resource_type="order",
                 resource_id=row.order_id, user_id=row.user_id,
                 description=f"E-invoice {row.relate_number} refused: {message}"[:500],
                 meta={"reason": reason.value})


class _AmountMismatch(Exception):
    """ECPay holds another total under our RelateNumber: never adopt that invoice."""


def _recover(gateway: EInvoiceClient, row: EInvoice) -> InvoiceRecord:
    record = gateway.get_issue(row.relate_number)
    if record.sales_amount != row.sales_amount:
        raise _AmountMismatch(f"ECPay holds {record.invoice_no} for NT${record.sales_amount}"
                              f" under {row.relate_number}, not NT${row.sales_amount}")
    return record


def _tell_the_customer(session: Session, jobs: Jobs, row: EInvoice) -> None:
    """The receipt PDF is drawn again with the number; the number goes out by e-mail in the
    payment confirmation if that is not sent yet, else in an e-mail of its own."""
    jobs.enqueue(INVOICE_PDF_JOB, str(row.invoice_id), True,
                 job_id=f"invoice-pdf-{row.invoice_id}-einvoice")
    # Locked: a confirmation being sent right now finishes first (and went without the
    # number), or waits for this commit (and renders with it).
    confirmation = session.scalars(
        select(EmailDelivery.status)
        .where(EmailDelivery.event_key == f"payment_confirmation:{row.order_id}")
        .with_for_update()
    ).one_or_none()
    if confirmation == "pending":
        return
    user = session.get_one(User, row.user_id)
    queue_email(session, jobs, template="einvoice_issued", user=user,
                event_key=f"einvoice_issued:{row.id}", context={"order_id": str(row.order_id)})


def issue(session: Session, clock: Clock, gateway: EInvoiceClient, einvoice_id: uuid.UUID,
          jobs: Jobs | None = None) -> IssueOutcome:
    """Issue one pending e-invoice; the caller's transaction keeps what happened (and sends
    what `jobs` was asked for after it commits)."""
    row = _lock(session, einvoice_id)
    if row is None:
        return IssueOutcome.BUSY if session.get(EInvoice, einvoice_id) else IssueOutcome.NOT_PENDING
    if row.status != EInvoiceStatus.PENDING.value:
        return IssueOutcome.NOT_PENDING
    now = clock.now()
    row.attempts += 1
    outcome = IssueOutcome.ISSUED
    try:
        try:
            issued: IssuedInvoice = gateway.issue(issue_request(row))
        except EInvoiceDuplicate:
            issued, outcome = _recover(gateway, row), IssueOutcome.RECOVERED
    except EInvoiceTransient as exc:
        row.last_error = f"{exc.code} {exc.message}"[:500]
        row.next_attempt_at = now + _backoff(row.attempts, exc.retry_after)
        metrics.record_einvoice("retry")
        log.warning("e-invoice %s: transient failure, retry at %s: %s",
                    row.relate_number, row.next_attempt_at, exc)
        return IssueOutcome.RETRY
    except EInvoiceRangeExhausted as exc:
        _fail(session, row, FailureReason.RANGE_EXHAUSTED, f"{exc.code} {exc.message}")
        metrics.record_einvoice("range_exhausted")
        return IssueOutcome.FAILED
    except EInvoiceRefused as exc:
        _fail(session, row, FailureReason.REFUSED, f"{exc.code} {exc.message}")
        metrics.record_einvoice("refused")
        return IssueOutcome.FAILED
    except _AmountMismatch as exc:
        _fail(session, row, FailureReason.AMOUNT_MISMATCH, str(exc))
        metrics.record_einvoice("refused")
        return IssueOutcome.FAILED
    except EInvoiceError as exc:  # e.g. GetIssue found nothing after "duplicate": retry
        row.last_error = f"{exc.code} {exc.message}"[:500]
        row.next_attempt_at = now + _backoff(row.attempts, None)
        metrics.record_einvoice("retry")
        return IssueOutcome.RETRY
    _store(row, issued, now)
    if jobs is not None:
        _tell_the_customer(session, jobs, row)
    metrics.record_einvoice(outcome.value)
    audit.record(session, audit.SYSTEM, "einvoice.issued", resource_type="order",
                 resource_id=row.order_id, user_id=row.user_id,
                 description=f"E-invoice {row.display_number} issued",
                 meta={"relate_number": row.relate_number, "recovered": outcome.value ==
                       IssueOutcome.RECOVERED.value})
    events.record(session, now, "einvoice.issued", {
        "einvoice_id": str(row.id), "einvoice_number": row.display_number,
        "order_id": str(row.order_id), "invoice_id": str(row.invoice_id),
        "customer_id": str(row.user_id)}, jobs)
    return outcome


def due(session: Session, clock: Clock, limit: int = 500,
        test_clock_id: uuid.UUID | None = None) -> list[uuid.UUID]:
    """Pending e-invoices whose next attempt is due (lost jobs, retries after back-off);
    production's, or one test clock's (whose advance issues them at the clock's time)."""
    return list(session.scalars(
        select(EInvoice.id)
        .where(EInvoice.status == EInvoiceStatus.PENDING.value,
               EInvoice.next_attempt_at <= clock.now(),
               scope.customers(EInvoice.user_id, test_clock_id))
        .order_by(EInvoice.next_attempt_at).limit(limit)
    ))
