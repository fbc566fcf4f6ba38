"""Sequential invoice numbers per year, safe under concurrent creation."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from services.core.db.models import InvoiceSequence
from services.core.db.upsert import insert_for
from services.core.domain.invoice_numbers import format_invoice_number


def allocate_invoice_number(session: Session, year: int) -> str:
    """Take the next number of `year` in the caller's transaction.

    One upsert bumps the counter and returns it; PostgreSQL's row lock on the counter
    serialises concurrent callers until they commit, so no number is handed out twice,
    and a rolled-back transaction gives its number back (no gaps from failures).
    """
    insert = insert_for(session)
    statement = (
        insert(InvoiceSequence)
        .values(year=year, last_number=1)
        .on_conflict_do_update(
            index_elements=[InvoiceSequence.year],
            set_={"last_number": InvoiceSequence.last_number + 1},
        )
        .returning(InvoiceSequence.last_number)
    )
    number = session.execute(statement).scalar_one()
    return format_invoice_number(year, number)


def reset_sequence(session: Session, year: int, last_number: int) -> None:
    """Set a year's counter (used when importing invoices from another system)."""
    session.execute(
        update(InvoiceSequence).where(InvoiceSequence.year == year).values(last_number=last_number)
    )
