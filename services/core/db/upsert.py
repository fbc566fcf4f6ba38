"""The dialect's INSERT that knows ON CONFLICT: PostgreSQL's, or SQLite's in development.

Unique constraints with INSERT … ON CONFLICT are how Fluxus keeps money exactly-once; every
such statement starts here so both databases get the same guard.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session


def insert_for(session: Session) -> Any:
    """`insert` for the session's database, with `on_conflict_do_*` available."""
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
