"""Invoices (one per paid order) and the per-year counter that numbers them."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.core.db.base import Base, created_at, uuid_pk

if TYPE_CHECKING:
    from services.core.db.models.einvoice import EInvoice


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (Index("ix_invoices_user_issued", "user_id", "issued_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    invoice_number: Mapped[str] = mapped_column(String(20), unique=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    amount: Mapped[Decimal]  # net of tax
    tax_amount: Mapped[Decimal]
    total_amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3), default="TWD")
    buyer_name: Mapped[str] = mapped_column(String(200), default="")
    buyer_email: Mapped[str] = mapped_column(String(254), default="")
    buyer_tax_id: Mapped[str] = mapped_column(String(8), default="")
    description: Mapped[str] = mapped_column(String(200), default="")
    issued_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]
    pdf_url: Mapped[str | None] = mapped_column(String(500))
    # Staff's note and key-value metadata (an integrator's references), shown to whoever can
    # read the invoice. `metadata` is the column; the attribute name is SQLAlchemy's own.
    notes: Mapped[str | None] = mapped_column(String(1000))
    meta: Mapped[dict[str, Any] | None] = mapped_column("metadata")
    created_at: Mapped[datetime] = created_at()
    # The government uniform invoice for the same sale (none for sales before e-invoicing).
    einvoice: Mapped[EInvoice | None] = relationship(viewonly=True, lazy="selectin")


class InvoiceSequence(Base):
    """The last invoice number handed out per year; bumped atomically with an upsert."""

    __tablename__ = "invoice_sequences"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(default=0)
