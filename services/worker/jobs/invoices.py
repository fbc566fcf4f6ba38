"""Job: render one invoice's PDF under the invoice directory (idempotent)."""

from __future__ import annotations

import uuid

from services.core.usecases.invoice_pdf import render_invoice_pdf as render
from services.worker import context


def render_invoice_pdf(invoice_id: str, force: bool = False) -> str:
    """`force`: draw it again (the uniform invoice's number arrived after the first one)."""
    settings = context.settings()
    with context.unit_of_work() as (session, _jobs):
        path = render(
            session,
            invoice_id=uuid.UUID(invoice_id),
            invoice_dir=settings.invoice_path,
            seller_name=settings.seller_name,
            seller_tax_id=settings.seller_tax_id,
            force=force,
        )
    return str(path)
