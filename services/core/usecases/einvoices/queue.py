"""E-invoices as staff see them: every sale's state, and a retry for a refused one."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import EInvoice, Order, User
from services.core.errors import Conflict, NotFound
from services.core.ports import Jobs
from services.core.usecases import audit
from services.core.usecases.api_pages import Page, paginate
from services.core.usecases.audit import Actor
from services.core.usecases.einvoices import outbox
from services.core.usecases.einvoices.states import EInvoiceStatus


def list_einvoices(session: Session, *, status: str | None = None, reason: str | None = None,
                   order_id: uuid.UUID | None = None, page: int = 1,
                   page_size: int = 20) -> Page[EInvoice]:
    """Newest first; `?status=failed` and `?status=pending` are the work left to do."""
    query = select(EInvoice).order_by(EInvoice.created_at.desc(), EInvoice.id)
    if status:
        query = query.where(EInvoice.status == status)
    if reason:
        query = query.where(EInvoice.reason == reason)
    if order_id:
        query = query.where(EInvoice.order_id == order_id)
    return paginate(session, query, page=page, page_size=page_size)


def get_einvoice(session: Session, einvoice_id: uuid.UUID) -> EInvoice:
    row = session.get(EInvoice, einvoice_id)
    if row is None:
        raise NotFound("E-invoice not found.")
    return row


def retry(session: Session, clock: Clock, jobs: Jobs, actor: Actor,
          einvoice_id: uuid.UUID) -> EInvoice:
    """Send a refused e-invoice again, with the buyer details as they are now (the usual fix
    for a refusal is correcting the customer's carrier, love code or 統編 first)."""
    row = session.scalars(
        select(EInvoice).where(EInvoice.id == einvoice_id).with_for_update()
    ).one_or_none()
    if row is None:
        raise NotFound("E-invoice not found.")
    if row.status != EInvoiceStatus.FAILED.value:
        raise Conflict(f"Only a failed e-invoice can be retried; this one is {row.status}.",
                       code="einvoice_not_failed")
    order = session.get_one(Order, row.order_id)
    user = session.get_one(User, row.user_id)
    previous = row.last_error
    row.buyer = outbox.buyer_snapshot(order, user)
    row.status, row.reason, row.next_attempt_at = EInvoiceStatus.PENDING.value, "", clock.now()
    audit.record(session, actor, "einvoice.retried", resource_type="order",
                 resource_id=row.order_id, user_id=row.user_id,
                 description=f"E-invoice {row.relate_number} sent again",
                 meta={"previous_error": previous})
    jobs.enqueue(outbox.ISSUE_JOB, str(row.id),
                 job_id=outbox.issue_job_id(row.id, f"retry{row.attempts}"))
    return row
