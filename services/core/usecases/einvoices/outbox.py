"""Recording the e-invoice a payment owes, in the payment's own transaction.

The row is the outbox: the worker issues it at ECPay after commit (and a sweep re-sends any
job that was lost), so a committed payment can never end without its e-invoice, and a
rolled-back one never gets one."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.config import Settings
from services.core.db.models import EInvoice, Invoice, Order, Plan, User
from services.core.domain.einvoice_buyer import InvoicePreference, buyer_fields
from services.core.domain.money import split_tax_included, to_twd
from services.core.domain.periods import TAIPEI, Period
from services.core.ports import Jobs
from services.core.usecases import coupon_pricing
from services.core.usecases.einvoices import preferences
from services.core.usecases.einvoices.states import EInvoiceStatus, NotIssuedReason

ISSUE_JOB = "issue_einvoice"
ITEM_UNIT = "期"  # one billing period of the plan (ECPay's ItemWord, ≤ 6 characters)


def issue_job_id(einvoice_id: object, round_: str = "") -> str:
    return f"einvoice-{einvoice_id}{'-' + round_ if round_ else ''}"


def _lines(order: Order, plan: Plan, period: Period, total: int,
           coupon: str = "") -> list[dict[str, Any]]:
    # A coupon is folded into the one line (its price is the discounted total, so the items
    # still sum to SalesAmount) and named in it: "Pro 2027-03-01~2027-04-01 (SPRING −10%)".
    first, last = (d.astimezone(TAIPEI).date().isoformat() for d in (period.start, period.end))
    return [{"name": f"{plan.name} {first}~{last}{coupon}"[:100], "count": 1, "word": ITEM_UNIT,
             "price": total, "amount": total}]


def buyer_snapshot(order: Order, user: User) -> dict[str, Any]:
    pref = preferences.for_order(order, user)
    try:
        fields = buyer_fields(pref, email=user.email, phone=user.phone,
                              name=preferences.buyer_name(user))
    except ValueError:
        # Preferences are validated when saved; one that no longer holds must not block a
        # legal obligation: the invoice goes to the customer's e-mail carrier instead.
        pref = InvoicePreference()
        fields = buyer_fields(pref, email=user.email, phone=user.phone,
                              name=preferences.buyer_name(user))
    return {"kind": pref.kind.value, **preferences.fields_to_json(fields)}


def record_for_payment(session: Session, clock: Clock, jobs: Jobs, settings: Settings, *,
                       order: Order, invoice: Invoice, user: User, plan: Plan,
                       period: Period) -> EInvoice:
    """The e-invoice `order`'s payment owes (or a row saying why none is issued)."""
    total = int(to_twd(order.amount))
    split = split_tax_included(total)
    row = EInvoice(
        order_id=order.id, invoice_id=invoice.id, user_id=user.id,
        relate_number=order.order_number.upper(), buyer=buyer_snapshot(order, user),
        items={"lines": _lines(order, plan, period, total,
                               coupon_pricing.line_label(session, order))}, sales_amount=total,
        tax_amount=int(split.tax), remaining_allowance=0,
        created_at=clock.now(),  # the sale's time: the legal two days count from it
    )
    if not settings.einvoice_enabled:
        row.status, row.reason = EInvoiceStatus.NOT_ISSUED.value, NotIssuedReason.DISABLED.value
    elif total <= 0:
        row.status, row.reason = EInvoiceStatus.NOT_ISSUED.value, NotIssuedReason.ZERO_TOTAL.value
    else:
        row.status, row.next_attempt_at = EInvoiceStatus.PENDING.value, clock.now()
    session.add(row)
    session.flush()  # the unique order_id is the last guard against a second e-invoice
    if row.status == EInvoiceStatus.PENDING.value:
        jobs.enqueue(ISSUE_JOB, str(row.id), job_id=issue_job_id(row.id))
    return row
