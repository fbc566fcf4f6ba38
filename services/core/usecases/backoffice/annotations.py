"""Staff annotations: a note on an order, a note and key-value metadata on an invoice.

They are shown to whoever may read the object (the customer included), as an integrator's
metadata is: nothing secret belongs in them. Every change is audit-logged with its old value.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from services.core.db.models import Invoice, Order, User
from services.core.errors import PermissionDenied, ValidationError
from services.core.usecases import audit
from services.core.usecases.audit import Actor
from services.core.usecases.billing_queries import get_invoice
from services.core.usecases.orders import get_order

NOTE_MAX = 1000
# Enough for an integrator's references, small enough to stay a column, not a document store.
METADATA_KEYS, METADATA_KEY_MAX, METADATA_VALUE_MAX = 20, 40, 500


def _staff(caller: User) -> None:
    if not caller.is_staff:
        raise PermissionDenied("Only staff annotate orders and invoices.")


def _note(value: str | None) -> str | None:
    """A note as stored: surrounding blanks dropped, empty means none."""
    note = (value or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationError("The note is too long.",
                              errors={"notes": [f"At most {NOTE_MAX} characters."]})
    return note or None


def check_metadata(meta: dict[str, Any] | None) -> dict[str, str] | None:
    """String keys to string values, bounded; an empty mapping means none."""
    if not meta:
        return None
    problems = []
    if len(meta) > METADATA_KEYS:
        problems.append(f"At most {METADATA_KEYS} keys.")
    for key, value in meta.items():
        if not isinstance(key, str) or not 1 <= len(key) <= METADATA_KEY_MAX:
            problems.append(f"Key {key!r}: 1 to {METADATA_KEY_MAX} characters.")
        if not isinstance(value, str) or len(value) > METADATA_VALUE_MAX:
            problems.append(f"Value of {key!r}: a string of at most {METADATA_VALUE_MAX}.")
    if problems:
        raise ValidationError("The metadata is not valid.", errors={"metadata": problems})
    return dict(meta)


def annotate_order(session: Session, actor: Actor, caller: User, order_id: uuid.UUID,
                   notes: str | None) -> Order:
    _staff(caller)
    order = get_order(session, caller, order_id)
    old, order.notes = order.notes, _note(notes)
    audit.record(session, actor, "order_annotated", resource_type="order", resource_id=order.id,
                 description=f"Note on order {order.order_number}.",
                 meta={"old_notes": old, "notes": order.notes})
    return order


def annotate_invoice(session: Session, actor: Actor, caller: User, invoice_id: uuid.UUID,
                     fields: dict[str, Any]) -> Invoice:
    """Set `notes` and/or `metadata` (a PATCH: what is absent stays)."""
    _staff(caller)
    invoice = get_invoice(session, caller, invoice_id)
    old = {"notes": invoice.notes, "metadata": invoice.meta}
    if "notes" in fields:
        invoice.notes = _note(fields["notes"])
    if "metadata" in fields:
        invoice.meta = check_metadata(fields["metadata"])
    audit.record(session, actor, "invoice_annotated", resource_type="invoice",
                 resource_id=invoice.id,
                 description=f"Note or metadata on invoice {invoice.invoice_number}.",
                 meta={"old": old, "new": {"notes": invoice.notes, "metadata": invoice.meta}})
    return invoice
