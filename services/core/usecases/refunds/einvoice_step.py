"""After the money: void or allow the order's e-invoice for the refund (keyed by the refund id).

A failed e-invoice step never undoes the money step: it is retried while ECPay is busy,
waits while the invoice itself is still being issued, and is kept as failed (books and the
alert show it) when ECPay refuses."""

from __future__ import annotations

import uuid
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import EInvoice, Refund
from services.core.errors import Conflict
from services.core.usecases.einvoices.corrections import correct_for_refund
from services.core.usecases.einvoices.states import EInvoiceStatus
from services.core.usecases.refunds.states import RETURNED, EInvoiceStep
from services.ecpay.einvoice import EInvoiceClient, EInvoiceError, EInvoiceTransient

RETRY_AFTER = (60, 300, 900, 1800, 3600)
UNANSWERED = "ECPay e-invoice busy"  # a call went out and no answer came back
WAITING_FOR = "waiting for the e-invoice correction of refund"


class StepOutcome(StrEnum):
    DONE = "done"
    NOT_NEEDED = "not_needed"
    WAIT = "wait"  # ECPay busy, or the e-invoice is not issued yet
    FAILED = "failed"
    SKIPPED = "skipped"  # not pending, or another worker holds it


def _later(clock: Clock, refund: Refund, error: str) -> StepOutcome:
    refund.attempts += 1
    refund.einvoice_error = error[:500]
    delay = RETRY_AFTER[min(refund.attempts, len(RETRY_AFTER)) - 1]
    refund.next_attempt_at = clock.now() + timedelta(seconds=delay)
    return StepOutcome.WAIT


def correct(session: Session, clock: Clock, gateway: EInvoiceClient,
            refund_id: uuid.UUID) -> StepOutcome:
    refund = session.scalars(
        select(Refund).where(Refund.id == refund_id).with_for_update(skip_locked=True)
    ).one_or_none()
    if refund is None or refund.status not in RETURNED \
            or refund.einvoice_status != EInvoiceStep.PENDING.value:
        return StepOutcome.SKIPPED
    # Locked before looking at the other refunds of the order: every correction of this
    # invoice is decided and sent one at a time.
    einvoice = session.scalars(
        select(EInvoice).where(EInvoice.order_id == refund.order_id).with_for_update()
    ).one_or_none()
    if einvoice is None or einvoice.status == EInvoiceStatus.NOT_ISSUED.value:
        refund.einvoice_status, refund.next_attempt_at = EInvoiceStep.NOT_NEEDED.value, None
        return StepOutcome.NOT_NEEDED
    if einvoice.status == EInvoiceStatus.PENDING.value:
        return _later(clock, refund, "the e-invoice is not issued yet")
    if not refund.einvoice_error.startswith(UNANSWERED) \
            and (other := _unanswered_sibling(session, refund)) is not None:
        # ECPay may have done the other correction: ours would be judged against an invoice
        # whose remaining amount we do not know, and its answer would hide the other's from
        # the GetIssue check that settles it. The other goes first.
        return _later(clock, refund, f"{WAITING_FOR} {other.id}, whose call got no answer")
    try:
        result = correct_for_refund(
            session, clock, gateway, einvoice_id=einvoice.id, amount=int(refund.amount),
            reason=refund.reason or "退款", request_key=f"refund:{refund.id}",
            after_unanswered=refund.einvoice_error.startswith(UNANSWERED))
    except EInvoiceTransient as exc:
        return _later(clock, refund, f"{UNANSWERED}: {exc}")
    except (EInvoiceError, Conflict) as exc:
        refund.einvoice_status, refund.next_attempt_at = EInvoiceStep.FAILED.value, None
        refund.einvoice_error = f"{type(exc).__name__}: {exc}"[:500]
        return StepOutcome.FAILED
    refund.einvoice_status, refund.next_attempt_at = EInvoiceStep.DONE.value, None
    refund.einvoice_error = ""
    refund.einvoice_result = {
        "correction": result.correction.value,
        "einvoice_id": str(result.einvoice_id),
        "allowance_id": str(result.allowance_id) if result.allowance_id else None,
        "pending_consent": result.pending_consent,
    }
    return StepOutcome.DONE


def _unanswered_sibling(session: Session, refund: Refund) -> Refund | None:
    """Another refund of the same order whose correction went to ECPay unanswered."""
    return session.scalars(
        select(Refund).where(Refund.order_id == refund.order_id, Refund.id != refund.id,
                             Refund.einvoice_status == EInvoiceStep.PENDING.value,
                             Refund.einvoice_error.startswith(UNANSWERED))
        .order_by(Refund.created_at).limit(1)
    ).first()


def due(session: Session, clock: Clock, limit: int = 200) -> list[uuid.UUID]:
    """Refunds whose money is back and whose e-invoice step is due."""
    return list(session.scalars(
        select(Refund.id).where(Refund.status.in_(RETURNED),
                                Refund.einvoice_status == EInvoiceStep.PENDING.value,
                                Refund.next_attempt_at <= clock.now())
        .order_by(Refund.next_attempt_at).limit(limit)))
