"""Taiwan e-invoices (電子發票): one row per paid order, written in the payment's own
transaction (the outbox), issued at ECPay by the worker; and the allowances (折讓) on them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from services.core.db.base import Base, created_at, updated_at, uuid_pk


class EInvoice(Base):
    __tablename__ = "einvoices"
    __table_args__ = (Index("ix_einvoices_status_next_attempt", "status", "next_attempt_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), unique=True)
    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id"), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    # ECPay's idempotency key for Issue (unique per merchant, case-insensitive): the order
    # number, so a retry after a lost answer meets "duplicate" and recovers with GetIssue.
    relate_number: Mapped[str] = mapped_column(String(30), unique=True)
    # pending → issued → voided; failed (ECPay refused: a person must act); not_issued
    # (nothing to issue: e-invoicing off, or a zero total — `reason` says which)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str] = mapped_column(String(32), default="")
    # The buyer as issued (kind, 統編, carrier or love code, print): a snapshot, so a later
    # change of the customer's preferences never changes an issued invoice.
    buyer: Mapped[dict[str, Any]]
    items: Mapped[dict[str, Any]]  # {"lines": [{name, count, word, price, amount}]}
    sales_amount: Mapped[int]  # tax-included total (TaxType 1, 5 %)
    tax_amount: Mapped[int]
    invoice_no: Mapped[str | None] = mapped_column(String(10), unique=True)
    invoice_date: Mapped[datetime | None]
    random_number: Mapped[str] = mapped_column(String(4), default="")
    remaining_allowance: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(String(500), default="")
    issued_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]
    void_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    @property
    def display_number(self) -> str:
        """`AB-12345678`, as printed on a uniform invoice."""
        return f"{self.invoice_no[:2]}-{self.invoice_no[2:]}" if self.invoice_no else ""


class EInvoiceAllowance(Base):
    """A 折讓 on an issued e-invoice (a partial refund, or any refund after the filing cut-off)."""

    __tablename__ = "einvoice_allowances"

    id: Mapped[uuid.UUID] = uuid_pk()
    einvoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("einvoices.id"), index=True)
    # The caller's key (e.g. the refund's id): asking twice makes one allowance.
    request_key: Mapped[str] = mapped_column(String(100), unique=True)
    amount: Mapped[int]
    reason: Mapped[str] = mapped_column(String(200), default="")
    # issued | pending_consent (online: exists at ECPay once the buyer agrees) | voided | failed
    status: Mapped[str] = mapped_column(String(16), default="issued")
    online: Mapped[bool] = mapped_column(default=False)
    allowance_no: Mapped[str | None] = mapped_column(String(20), unique=True)
    allowance_date: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(String(500), default="")
    voided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
