"""Read-only queries for the API: plans (public) and invoices (own, or all for staff)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.db.models import Invoice, Plan, User
from services.core.errors import NotFound
from services.core.usecases.api_pages import Page, paginate

_ACTIVE_PLANS = select(Plan).where(Plan.is_active.is_(True)).order_by(Plan.sort_order, Plan.name,
                                                                      Plan.id)


def active_plans(session: Session) -> list[Plan]:
    """Every active plan in display order (the catalogue is tens of rows, read whole)."""
    return list(session.scalars(_ACTIVE_PLANS))


def get_plan(session: Session, plan_id: uuid.UUID) -> Plan:
    plan = session.get(Plan, plan_id)
    if plan is None or not plan.is_active:
        raise NotFound("Plan not found.")
    return plan


def list_invoices(session: Session, caller: User, *, page: int, page_size: int,
                  user_id: uuid.UUID | None = None) -> Page[Invoice]:
    query = select(Invoice).order_by(Invoice.issued_at.desc(), Invoice.id)
    if not caller.is_staff:
        query = query.where(Invoice.user_id == caller.id)
    elif user_id is not None:
        query = query.where(Invoice.user_id == user_id)
    return paginate(session, query, page=page, page_size=page_size)


def get_invoice(session: Session, caller: User, invoice_id: uuid.UUID) -> Invoice:
    query = select(Invoice).where(Invoice.id == invoice_id)
    if not caller.is_staff:
        query = query.where(Invoice.user_id == caller.id)
    invoice = session.scalars(query).one_or_none()
    if invoice is None:
        raise NotFound("Invoice not found.")
    return invoice
