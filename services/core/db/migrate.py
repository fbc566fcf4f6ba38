"""Schema migrations driven from code: upgrade, downgrade, and whether a database is current."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser treats % specially; URLs with escaped passwords contain it.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def head_revisions(url: str) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(url)).get_heads())


@dataclass(frozen=True)
class SchemaState:
    current: set[str]
    heads: set[str]

    @property
    def up_to_date(self) -> bool:
        return self.current == self.heads

    def describe(self) -> str:
        current = ", ".join(sorted(self.current)) or "empty (no migrations applied)"
        if self.up_to_date:
            return f"database schema is at head ({current})"
        return f"database schema is behind: at {current}, head is {', '.join(sorted(self.heads))}"


def schema_state(url: str) -> SchemaState:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()
    return SchemaState(current=current, heads=head_revisions(url))


def wait_for_schema(url: str, timeout: float, interval: float = 2.0) -> SchemaState:
    """Block until the database answers and is at head, or the timeout passes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            state = schema_state(url)
            if state.up_to_date:
                return state
        except OperationalError:
            state = None
        if time.monotonic() >= deadline:
            if state is None:
                raise TimeoutError(f"database unreachable after {timeout:.0f}s")
            raise TimeoutError(state.describe())
        time.sleep(interval)
