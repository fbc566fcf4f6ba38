"""Staff send a customer's invoice e-mail (the receipt with its PDF) or the e-invoice notice
again, through the same outbox as the first one, and the audit trail says who asked."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import EmailDelivery, Invoice, User
from services.core.errors import Conflict, NotFound, PermissionDenied
from services.core.ports import Jobs
from services.core.usecases import audit
from services.core.usecases.audit import Actor
from services.core.usecases.einvoices.states import EInvoiceStatus
from services.core.usecases.emails import EmailRequest, queue_emails

# What staff may send again, and the template each one is.
KINDS = {"invoice": "payment_confirmation", "einvoice": "einvoice_issued"}


@dataclass(frozen=True)
class Resent:
    invoice: Invoice
    kind: str
    delivery_id: uuid.UUID
    recipient: str


def resend_invoice(session: Session, clock: Clock, jobs: Jobs, actor: Actor, caller: User,
                   invoice_id: uuid.UUID, *, kind: str, request_key: str | None) -> Resent:
    """Queue the invoice's e-mail once more to the customer's current address (see
    queue_again for `request_key`)."""
    if not caller.is_staff:
        raise PermissionDenied("Only staff resend invoices.")
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise NotFound("Invoice not found.")
    einvoice = invoice.einvoice
    if kind == "einvoice" and (einvoice is None or einvoice.status != EInvoiceStatus.ISSUED):
        raise Conflict("This invoice has no issued e-invoice to send.",
                       code="einvoice_not_issued", errors={"kind": ["no issued e-invoice"]})
    user = session.get_one(User, invoice.user_id)
    context = {"order_id": str(invoice.order_id), "invoice_id": str(invoice.id)}
    delivery_id, created = queue_again(session, clock, jobs, user, KINDS[kind], invoice.id,
                                       context, request_key)
    if created:
        audit.record(session, actor, "invoice_resend", resource_type="invoice",
                     resource_id=invoice.id, description=(
                         f"Sent {kind} e-mail of {invoice.invoice_number} again to "
                         f"{user.email}."),
                     meta={"kind": kind, "delivery_id": str(delivery_id),
                           "customer": str(user.id)})
    return Resent(invoice, kind, delivery_id, user.email)


def queue_again(session: Session, clock: Clock, jobs: Jobs, user: User, template: str,
                about: uuid.UUID, context: dict[str, str],
                request_key: str | None) -> tuple[uuid.UUID, bool]:
    """Queue `template` once more to the customer's current address: the delivery's id, and
    whether this call created it (False: the same form sent twice, the first e-mail stands).

    `request_key` (the form's Idempotency-Key) makes a double click one e-mail; without one
    every call is a new e-mail."""
    stamp = request_key or clock.now().isoformat()
    event_key = f"resend:{template}:{about}:{stamp}"[:200]
    created = queue_emails(session, jobs, [EmailRequest(template, user.id, user.email,
                                                        event_key, context)])
    if created:
        return created[0], True
    return session.scalars(select(EmailDelivery.id)
                           .where(EmailDelivery.event_key == event_key)).one(), False
