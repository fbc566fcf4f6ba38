"""Staff send a customer's payment e-mail again: the payment instructions of an order still
waiting for an ATM transfer or a convenience-store payment, or the payment confirmation of a
paid one. Same outbox as the first e-mail; the audit trail says who asked."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import Order, User
from services.core.domain.states import OrderStatus
from services.core.errors import Conflict, NotFound, PermissionDenied
from services.core.ports import Jobs
from services.core.usecases import audit
from services.core.usecases.audit import Actor
from services.core.usecases.backoffice.resend import queue_again

# What staff may send again, and the template each one is.
KINDS = {"instructions": "payment_instructions", "confirmation": "payment_confirmation"}
_OPEN = (OrderStatus.PENDING.value, OrderStatus.PROCESSING.value)
_PAID = (OrderStatus.COMPLETED.value, OrderStatus.REFUNDED.value)


@dataclass(frozen=True)
class OrderResent:
    order: Order
    kind: str
    delivery_id: uuid.UUID
    recipient: str


def _check(order: Order, kind: str, now: datetime) -> None:
    if kind == "confirmation":
        if order.status not in _PAID:
            raise Conflict(f"The order is {order.status}: there is no payment to confirm.",
                           code="order_not_paid", errors={"kind": ["order not paid"]})
        return
    codes = order.payment_info or {}
    if order.status not in _OPEN or not any(codes.get(k) for k in ("v_account", "payment_no",
                                                                  "barcode1")):
        raise Conflict("This order has no open ATM, convenience-store or barcode payment "
                       "code to send.", code="no_payment_instructions",
                       errors={"kind": ["no payment code"]})
    if order.expire_at is not None and order.expire_at <= now:
        # The code is dead at ECPay: sending it would only send the customer to a refusal.
        raise Conflict("The payment code has expired; the customer needs a new payment.",
                       code="payment_code_expired", errors={"kind": ["payment code expired"]})


def resend_payment_email(session: Session, clock: Clock, jobs: Jobs, actor: Actor,
                         caller: User, order_id: uuid.UUID, *, kind: str,
                         request_key: str | None) -> OrderResent:
    """Queue the order's payment e-mail once more (once per `request_key`)."""
    if not caller.is_staff:
        raise PermissionDenied("Only staff resend payment e-mails.")
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound("Order not found.")
    _check(order, kind, clock.now())
    user = session.get_one(User, order.user_id)
    delivery_id, created = queue_again(session, clock, jobs, user, KINDS[kind], order.id,
                                       {"order_id": str(order.id)}, request_key)
    if created:
        audit.record(session, actor, "order_email_resend", resource_type="order",
                     resource_id=order.id, description=(
                         f"Sent the payment {kind} e-mail of {order.order_number} again to "
                         f"{user.email}."),
                     meta={"kind": kind, "delivery_id": str(delivery_id),
                           "customer": str(user.id)})
    return OrderResent(order, kind, delivery_id, user.email)
