"""The dialect's INSERT that knows ON CONFLICT: PostgreSQL's, or SQLite's in development.

Unique constraints with INSERT … ON CONFLICT are how Fluxus keeps money exactly-once; every
such statement starts here so both databases get the same guard.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

T = TypeVar("T")

# Rows per multi-row INSERT: well inside SQLite's 32 766 bound parameters at ~20 columns.
INSERT_CHUNK = 500


def insert_for(session: Session) -> Any:
    """`insert` for the session's database, with `on_conflict_do_*` available."""
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def chunks(rows: Sequence[T], size: int = INSERT_CHUNK) -> Iterator[Sequence[T]]:
    """`rows` in slices of at most `size`, for multi-row INSERTs."""
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
