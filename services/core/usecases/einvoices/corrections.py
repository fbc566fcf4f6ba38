"""Correcting an issued e-invoice when money goes back: void (作廢) or allowance (折讓).

Which one is the pure rule in services.core.domain.einvoice_corrections (a full refund
before the bi-monthly filing cut-off voids; anything else is an allowance). Each call is
idempotent on its `request_key` (a refund's id), so a retried refund corrects once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import EInvoice, EInvoiceAllowance
from services.core.domain.einvoice_corrections import Correction, choose_correction
from services.core.domain.periods import TAIPEI
from services.core.errors import Conflict, NotFound, ValidationError
from services.core.usecases import audit
from services.core.usecases.einvoices.states import AllowanceStatus, EInvoiceStatus
from services.ecpay.einvoice import (
    AllowanceConsent,
    EInvoiceClient,
    EInvoiceCutoffPassed,
    EInvoiceHasAllowances,
    InvoiceItem,
)

VOID_KEY_PREFIX = "void:"


@dataclass(frozen=True)
class CorrectionResult:
    correction: Correction
    einvoice_id: uuid.UUID
    allowance_id: uuid.UUID | None = None
    pending_consent: bool = False


def _lock(session: Session, einvoice_id: uuid.UUID) -> EInvoice:
    row = session.scalars(
        select(EInvoice).where(EInvoice.id == einvoice_id).with_for_update()
    ).one_or_none()
    if row is None:
        raise NotFound("E-invoice not found.")
    return row


def _issued_as(row: EInvoice) -> tuple[str, date]:
    """The invoice's number and Taipei date, which every correction at ECPay names."""
    if not row.invoice_no or row.invoice_date is None:
        raise Conflict(f"E-invoice {row.relate_number} has no number yet.",
                       code="einvoice_not_issued")
    return row.invoice_no, row.invoice_date.astimezone(TAIPEI).date()


def _allowance_items(row: EInvoice, amount: int) -> list[InvoiceItem]:
    name = row.items["lines"][0]["name"] if row.items.get("lines") else "refund"
    return [InvoiceItem(name=f"{name} 折讓"[:100], count=1, word="式", price=amount,
                        amount=amount)]


def _void(session: Session, clock: Clock, gateway: EInvoiceClient, row: EInvoice,
          reason: str) -> CorrectionResult:
    number, day = _issued_as(row)
    gateway.invalid(number, day, reason[:20])
    return _record_void(session, clock, row, reason)


def _record_void(session: Session, clock: Clock, row: EInvoice, reason: str,
                 how: str = "") -> CorrectionResult:
    """ECPay voided the invoice (`how`: said in the audit when we learned it another way)."""
    row.status, row.voided_at = EInvoiceStatus.VOIDED.value, clock.now()
    row.void_reason, row.remaining_allowance = reason[:200], 0
    audit.record(session, audit.SYSTEM, "einvoice.voided", resource_type="order",
                 resource_id=row.order_id, user_id=row.user_id,
                 description=f"E-invoice {row.display_number} voided{how}: {reason}"[:500])
    return CorrectionResult(Correction.VOID, row.id)


def _allow(session: Session, clock: Clock, gateway: EInvoiceClient, row: EInvoice, *,
           amount: int, reason: str, request_key: str, online: bool,
           return_url: str) -> CorrectionResult:
    number, day = _issued_as(row)
    items = _allowance_items(row, amount)
    name = row.buyer.get("customer_name") or ""
    email = row.buyer.get("customer_email") or ""
    allowance = EInvoiceAllowance(einvoice_id=row.id, request_key=request_key, amount=amount,
                                  reason=reason[:200], online=online)
    if online:
        pending = gateway.allowance_by_collegiate(
            number, day, amount, items, reason[:20], customer_name=name,
            notify_email=email, return_url=return_url)
        allowance.status = AllowanceStatus.PENDING_CONSENT.value
        allowance.allowance_no, allowance.expires_at = pending.allowance_no, pending.expires_at
    else:
        result = gateway.allowance(number, day, amount, items, reason[:20],
                                   customer_name=name, notify_email=email)
        allowance.status = AllowanceStatus.ISSUED.value
        allowance.allowance_no = result.allowance_no
        allowance.allowance_date = result.allowance_date
        row.remaining_allowance = result.remaining_amount
    session.add(allowance)
    session.flush()
    audit.record(session, audit.SYSTEM, "einvoice.allowance", resource_type="order",
                 resource_id=row.order_id, user_id=row.user_id,
                 description=f"Allowance NT${amount} on {row.display_number}: {reason}"[:500],
                 meta={"allowance_no": allowance.allowance_no, "online": online})
    return CorrectionResult(Correction.ALLOWANCE, row.id, allowance.id, online)


def _recover_unanswered(session: Session, clock: Clock, gateway: EInvoiceClient, row: EInvoice,
                        *, amount: int, reason: str, request_key: str) -> CorrectionResult | None:
    """An earlier call for this correction got no answer: ECPay may have done it. Allowance
    and Invalid carry no key ECPay dedupes on, so calling again could reduce the invoice
    twice. GetIssue tells: voided, or this amount gone from what is left to allow (recorded
    as done, its number in ECPay's dashboard), or nothing changed (None: call again). Any
    other difference is not ours to guess and is kept for a person."""
    record = gateway.get_issue(row.relate_number)
    if record.voided and row.status == EInvoiceStatus.ISSUED.value:
        return _record_void(session, clock, row, reason,
                            " (ECPay's answer was lost; GetIssue shows it voided)")
    gone = row.remaining_allowance - record.remaining_allowance
    if gone == 0:
        return None
    if gone != amount:
        raise Conflict(
            f"ECPay shows NT${record.remaining_allowance} left to allow on "
            f"{row.display_number}, Fluxus recorded NT${row.remaining_allowance}: compare in "
            "ECPay's e-invoice dashboard", code="einvoice_allowance_mismatch")
    allowance = EInvoiceAllowance(einvoice_id=row.id, request_key=request_key, amount=amount,
                                  reason=reason[:200], online=False,
                                  status=AllowanceStatus.ISSUED.value,
                                  allowance_date=clock.now())
    row.remaining_allowance = record.remaining_allowance
    session.add(allowance)
    session.flush()
    audit.record(session, audit.SYSTEM, "einvoice.allowance", resource_type="order",
                 resource_id=row.order_id, user_id=row.user_id,
                 description=f"Allowance NT${amount} on {row.display_number} (ECPay's answer "
                             f"was lost; its number is in ECPay's dashboard): {reason}"[:500],
                 meta={"allowance_no": None, "online": False, "recovered": True})
    return CorrectionResult(Correction.ALLOWANCE, row.id, allowance.id, False)


def correct_for_refund(session: Session, clock: Clock, gateway: EInvoiceClient, *,
                       einvoice_id: uuid.UUID, amount: int, reason: str, request_key: str,
                       online: bool = False, return_url: str = "",
                       after_unanswered: bool = False) -> CorrectionResult:
    """Void or allow `amount` of an issued e-invoice, once per `request_key`.

    `after_unanswered`: an earlier call for this `request_key` got no answer (a timeout, a
    dropped connection); ECPay is asked what it did before anything is sent again."""
    row = _lock(session, einvoice_id)
    earlier = session.scalars(
        select(EInvoiceAllowance).where(EInvoiceAllowance.request_key == request_key)
    ).one_or_none()
    if earlier is not None:
        return CorrectionResult(Correction.ALLOWANCE, row.id, earlier.id,
                                earlier.status == AllowanceStatus.PENDING_CONSENT.value)
    if row.status == EInvoiceStatus.VOIDED.value and row.void_reason is not None:
        return CorrectionResult(Correction.VOID, row.id)
    if row.status != EInvoiceStatus.ISSUED.value or row.invoice_date is None:
        raise Conflict(f"E-invoice {row.relate_number} is {row.status}, not issued.",
                       code="einvoice_not_issued")
    if online and not return_url:
        raise ValidationError("An online allowance needs a ReturnURL.")
    if after_unanswered and not online:
        recovered = _recover_unanswered(session, clock, gateway, row, amount=amount,
                                        reason=reason, request_key=request_key)
        if recovered is not None:
            return recovered
    if not 0 < amount <= row.remaining_allowance:
        raise Conflict(
            f"NT${amount} cannot be allowed on {row.display_number}: NT$"
            f"{row.remaining_allowance} is left to allow", code="einvoice_allowance_exceeds")
    choice = choose_correction(
        invoice_date=row.invoice_date, invoice_amount=row.sales_amount,
        remaining_allowance=row.remaining_allowance, refund_amount=amount, now=clock.now(),
        donated=bool(row.buyer.get("donation")))
    if choice == Correction.VOID:
        try:
            return _void(session, clock, gateway, row, reason)
        except (EInvoiceCutoffPassed, EInvoiceHasAllowances):
            pass  # ECPay's clock or records disagree with ours: the allowance still works
    return _allow(session, clock, gateway, row, amount=amount, reason=reason,
                  request_key=request_key, online=online, return_url=return_url)


def record_consent(session: Session, clock: Clock, consent: AllowanceConsent) -> EInvoiceAllowance:
    """The buyer agreed to an online allowance (ECPay's verified ReturnURL post)."""
    allowance = session.scalars(
        select(EInvoiceAllowance).where(EInvoiceAllowance.allowance_no == consent.allowance_no)
        .with_for_update()
    ).one_or_none()
    if allowance is None:
        raise NotFound(f"No allowance {consent.allowance_no}.")
    if allowance.status != AllowanceStatus.PENDING_CONSENT.value:
        return allowance  # ECPay re-sent the post
    row = _lock(session, allowance.einvoice_id)
    allowance.status = AllowanceStatus.ISSUED.value
    allowance.allowance_date = consent.allowance_date or clock.now()
    row.remaining_allowance = (consent.remaining_amount if consent.remaining_amount is not None
                               else row.remaining_allowance - allowance.amount)
    audit.record(session, audit.SYSTEM, "einvoice.allowance_agreed", resource_type="order",
                 resource_id=row.order_id, user_id=row.user_id,
                 description=f"Buyer agreed to allowance {allowance.allowance_no}")
    return allowance


def void_allowance(session: Session, clock: Clock, gateway: EInvoiceClient,
                   allowance_id: uuid.UUID, reason: str) -> EInvoiceAllowance:
    """Undo an issued allowance (作廢折讓); its amount becomes allowable again."""
    allowance = session.get(EInvoiceAllowance, allowance_id, with_for_update=True)
    if allowance is None:
        raise NotFound("Allowance not found.")
    if allowance.status == AllowanceStatus.VOIDED.value:
        return allowance
    if allowance.status != AllowanceStatus.ISSUED.value or not allowance.allowance_no:
        raise Conflict("Only an issued allowance can be voided.", code="allowance_not_issued")
    row = _lock(session, allowance.einvoice_id)
    gateway.allowance_invalid(_issued_as(row)[0], allowance.allowance_no, reason[:20])
    allowance.status, allowance.voided_at = AllowanceStatus.VOIDED.value, clock.now()
    row.remaining_allowance += allowance.amount
    audit.record(session, audit.SYSTEM, "einvoice.allowance_voided", resource_type="order",
                 resource_id=row.order_id, user_id=row.user_id,
                 description=f"Allowance {allowance.allowance_no} voided: {reason}"[:500])
    return allowance
