"""What follows when money went back (or could not): the order's status, the e-invoice step's
job, the customer's e-mail, the audit row and the metric — one place for card and manual."""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from services.core import metrics
from services.core.clock import Clock
from services.core.db.models import Order, Refund, User
from services.core.domain.states import OrderStatus, check_order_transition
from services.core.ports import Jobs
from services.core.usecases import audit
from services.core.usecases.emails import queue_email
from services.core.usecases.refunds.states import RETURNED, EInvoiceStep, RefundStatus

log = logging.getLogger(__name__)

EINVOICE_JOB = "correct_refund_einvoice"
EMAIL_TEMPLATE = "refund_issued"


def einvoice_job_id(refund_id: uuid.UUID, round_: str = "") -> str:
    return f"refund-einvoice-{refund_id}" + (f"-{round_}" if round_ else "")


def returned_total(session: Session, order_id: uuid.UUID) -> Decimal:
    """Money given back on the order itself (refunds of a review item's extra money aside)."""
    total = session.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0)).where(
            Refund.order_id == order_id, Refund.status.in_(RETURNED), Refund.review_id.is_(None)
        )
    )
    return Decimal(total or 0)


def money_back(session: Session, clock: Clock, jobs: Jobs, order: Order, refund: Refund,
               status: RefundStatus) -> None:
    """Record that the customer has the money; the caller holds the order's row lock."""
    refund.status, refund.completed_at = status.value, clock.now()
    refund.next_attempt_at = None if refund.review_id is not None else clock.now()
    if refund.review_id is not None:
        # The extra money of a review item was never invoiced: nothing to correct.
        refund.einvoice_status = EInvoiceStep.NOT_NEEDED.value
    session.flush()
    if refund.review_id is None and returned_total(session, order.id) >= order.amount \
            and order.status == OrderStatus.COMPLETED.value:
        check_order_transition(order.status, OrderStatus.REFUNDED.value)
        order.status = OrderStatus.REFUNDED.value
    if refund.einvoice_status == EInvoiceStep.PENDING.value:
        jobs.enqueue(EINVOICE_JOB, str(refund.id), job_id=einvoice_job_id(refund.id))
    user = session.get_one(User, refund.user_id)
    queue_email(session, jobs, template=EMAIL_TEMPLATE, user=user, event_key=f"refund:{refund.id}",
                context={"order_id": str(order.id), "refund_amount": str(refund.amount),
                         "refund_method": refund.method,
                         "transfer_reference": refund.transfer_reference or ""})
    audit.record(session, audit.SYSTEM, "refund.completed", resource_type="order",
                 resource_id=order.id, user_id=refund.user_id,
                 description=f"Refund NT${refund.amount} ({refund.method}) {status.value}",
                 meta={"refund_id": str(refund.id), "order_status": order.status})
    metrics.record_refund(refund.method, status.value)


def failed(session: Session, clock: Clock, refund: Refund, message: str) -> None:
    """ECPay refused: kept for a person (books and the alert show it)."""
    refund.status, refund.failed_at = RefundStatus.FAILED.value, clock.now()
    refund.last_error, refund.next_attempt_at = message[:500], None
    refund.einvoice_status = EInvoiceStep.NOT_NEEDED.value
    log.error("refund %s of order %s failed: %s", refund.id, refund.order_id, message)
    audit.record(session, audit.SYSTEM, "refund.failed", resource_type="order",
                 resource_id=refund.order_id, user_id=refund.user_id,
                 description=f"Refund NT${refund.amount} failed: {message}"[:500],
                 meta={"refund_id": str(refund.id)})
    metrics.record_refund(refund.method, RefundStatus.FAILED.value)


def refunded_amount_of(row: object, order_id: uuid.UUID) -> Decimal:
    """For serializers: money given back on a loaded order (or its invoice), 0 when detached."""
    session = object_session(row)
    return returned_total(session, order_id) if session is not None else Decimal(0)
