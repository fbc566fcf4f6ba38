"""The lifecycle model's PostgreSQL database: copied from the migrated template once per test
module and emptied between examples, so each example starts from what a fresh copy holds.

Creating a database from the template and dropping it took about half a second an example
on the 2-core CI machine; deleting the few rows an example wrote takes a millisecond or two
(TRUNCATE, which makes new files for every table, took 0.3 s). The database also counts the
statements that may have changed it, so that a check that only reads it (the books) can
tell that nothing has changed since it last ran.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, event, func, select, table, text
from sqlalchemy.engine import Connection, Engine

import services.core.db.models  # noqa: F401 - every table on Base.metadata
from services.core.db.base import Base
from tests.support import databases

# Alembic's own row is the only one the migrated template holds.
KEPT = {"alembic_version"}


class ModelDatabase:
    """A real PostgreSQL database for one example at a time."""

    def __init__(self, template: str) -> None:
        self.name = databases.unique_name("fluxus_model")
        url = databases.create_database(self.name, template)
        # Commits need not wait for the WAL to reach the disk: a database that lives for one
        # test run has nothing to lose in a crash, and the test runs fsync-bound otherwise.
        self.engine: Engine = create_engine(
            url, pool_size=2, max_overflow=0,
            connect_args={"options": "-c synchronous_commit=off"})
        self.writes = 0  # transactions committed after a statement that may have written
        event.listen(self.engine, "after_cursor_execute", self._note)
        event.listen(self.engine, "commit", self._committed)
        event.listen(self.engine, "rollback", self._rolled_back)
        with self.engine.connect() as conn:
            present = set(conn.scalars(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")))
        # Children before parents, so that no foreign key stops a delete.
        tables = list(reversed(Base.metadata.sorted_tables))
        known = {t.name for t in tables}
        if known != present - KEPT:  # a table the models do not know would keep its rows
            self.close()
            raise RuntimeError(f"tables differ from the models: {sorted(present ^ known)}")
        # One round trip for all of them.
        self._empty = "; ".join(str(t.delete().compile(dialect=self.engine.dialect))
                                for t in tables)

    def _note(self, conn: Connection, cursor: Any, statement: str, _parameters: Any,
              _context: Any, executemany: bool) -> None:
        """A statement may have written unless it is a plain SELECT (a SELECT … FOR UPDATE
        only locks) or an INSERT, UPDATE or DELETE that PostgreSQL says touched no row (an
        ON CONFLICT DO NOTHING, a sweep that found nothing due); anything else counts."""
        verb = statement.lstrip()[:9].upper()
        if verb.startswith(("SELECT", "SAVEPOINT", "RELEASE")):
            return
        # (The schema has no triggers that a statement touching no row could fire; a batch's
        # rowcount may be its last page's, so a batch always counts.)
        if verb.startswith(("INSERT", "UPDATE", "DELETE")) and cursor.rowcount == 0 \
                and not executemany:
            return
        conn.info["wrote"] = True

    def _committed(self, conn: Connection) -> None:
        if conn.info.pop("wrote", False):
            self.writes += 1

    def _rolled_back(self, conn: Connection) -> None:
        conn.info.pop("wrote", None)  # what it wrote is gone (a worker killed mid-job)

    def empty(self) -> None:
        """Back to the template's contents: every row an example wrote is deleted."""
        with self.engine.begin() as conn:
            conn.exec_driver_sql(self._empty)

    def close(self) -> None:
        self.engine.dispose()
        databases.drop_database(self.name)


def rows(engine: Engine) -> dict[str, object]:
    """Rows per table, and Alembic's revision (for the test that emptied is fresh)."""
    with engine.connect() as conn:
        names = list(conn.scalars(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")))
        found: dict[str, object] = {
            name: int(conn.scalar(select(func.count()).select_from(table(name))) or 0)
            for name in names}
        found["revision"] = conn.scalar(text("SELECT version_num FROM alembic_version"))
        return found
