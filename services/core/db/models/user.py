"""Customers and staff."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from services.core.db.base import Base, created_at, updated_at, uuid_pk


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = uuid_pk()
    username: Mapped[str] = mapped_column(String(150), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(128))
    first_name: Mapped[str] = mapped_column(String(150), default="")
    last_name: Mapped[str] = mapped_column(String(150), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    company_name: Mapped[str] = mapped_column(String(200), default="")
    tax_id: Mapped[str] = mapped_column(String(8), default="")  # 統一編號 for B2B invoices
    # How the customer takes their e-invoice (see services.core.domain.einvoice_buyer):
    # cloud | mobile_barcode | certificate | donation | company
    invoice_kind: Mapped[str] = mapped_column(String(16), default="cloud")
    invoice_carrier_num: Mapped[str] = mapped_column(String(64), default="")
    invoice_love_code: Mapped[str] = mapped_column(String(7), default="")
    invoice_address: Mapped[str] = mapped_column(String(200), default="")
    invoice_print: Mapped[bool] = mapped_column(default=False)  # company: paper, not carrier
    language: Mapped[str] = mapped_column(String(8), default="zh-TW")
    is_active: Mapped[bool] = mapped_column(default=True)
    is_staff: Mapped[bool] = mapped_column(default=False)
    is_superuser: Mapped[bool] = mapped_column(default=False)
    is_verified: Mapped[bool] = mapped_column(default=False)
    # The SaaS's own id for this customer (set by staff or an API key with billing:write);
    # unique in a deployment, NULL for customers the SaaS has not linked.
    external_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    # A test customer lives on a test clock: only that clock's advances bill it, and every
    # production periodic job skips it (services.core.usecases.test_clocks.scope).
    test_clock_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("test_clocks.id"), index=True)
    avatar: Mapped[str | None] = mapped_column(String(500))  # an https URL the customer sets
    last_login: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
