"""Schema migrations driven from code: upgrade, downgrade, and whether a database is current
or newer but still compatible with this code (expand/contract rollbacks)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import OperationalError

MIGRATIONS = Path(__file__).with_name("migrations")

# Expand/contract: a migration that only adds (tables, nullable columns, indexes) declares
#     min_compatible_revision = "<the revision before it>"
# meaning code at that revision still runs against the new schema; one that removes or
# renames (a contract) declares nothing and so requires its own code. `fluxus db upgrade`
# records the head's value in the database (a comment on alembic_version: an image that
# predates a migration cannot read it from its own scripts), and `fluxus db wait` in an older
# image accepts a newer schema whose recorded minimum it has reached — so `helm rollback`, or
# an old pod restarting mid-upgrade, starts instead of waiting for ever.
_COMPAT_PREFIX = "fluxus min-compatible-revision: "
_REVISION = re.compile(r"^[0-9A-Za-z_]+$")


def alembic_config(url: str, script_location: Path = MIGRATIONS) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    # ConfigParser treats % specially; URLs with escaped passwords contain it.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head", script_location: Path = MIGRATIONS) -> None:
    command.upgrade(alembic_config(url, script_location), revision)
    record_min_compatible(url, script_location)


def downgrade(url: str, revision: str, script_location: Path = MIGRATIONS) -> None:
    command.downgrade(alembic_config(url, script_location), revision)
    record_min_compatible(url, script_location)


def _scripts(url: str, script_location: Path = MIGRATIONS) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(url, script_location))


def head_revisions(url: str, script_location: Path = MIGRATIONS) -> set[str]:
    return set(_scripts(url, script_location).get_heads())


def min_compatible_revision(scripts: ScriptDirectory, revision: str) -> str:
    """The oldest code revision that runs against the schema at `revision` (itself unless
    its migration declares `min_compatible_revision`)."""
    declared = getattr(scripts.get_revision(revision).module, "min_compatible_revision", None)
    return str(declared or revision)


def record_min_compatible(url: str, script_location: Path = MIGRATIONS) -> None:
    """Write the current schema's minimum compatible code revision into the database."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name != "postgresql":
                return  # SQLite is the one-process development default: no rollbacks there
            current = MigrationContext.configure(conn).get_current_heads()
            if len(current) != 1:
                return
            minimum = min_compatible_revision(_scripts(url, script_location), current[0])
            if not _REVISION.match(minimum):
                raise ValueError(f"not a revision id: {minimum!r}")
            # DDL takes no bound parameters; the id is checked above.
            conn.execute(text(f"COMMENT ON TABLE alembic_version IS '{_COMPAT_PREFIX}{minimum}'"))
    finally:
        engine.dispose()


def _recorded_min_compatible(conn: Connection) -> str | None:
    if conn.dialect.name != "postgresql":
        return None
    comment = conn.execute(
        text("SELECT obj_description(to_regclass('alembic_version'), 'pg_class')")
    ).scalar()
    if isinstance(comment, str) and comment.startswith(_COMPAT_PREFIX):
        return comment.removeprefix(_COMPAT_PREFIX).strip()
    return None


@dataclass(frozen=True)
class SchemaState:
    current: set[str]
    heads: set[str]
    # Every revision this code knows, and the minimum the database records for its schema.
    known: set[str] = field(default_factory=set)
    min_compatible: str | None = None
    # The revisions this code's heads descend from (themselves included).
    reached: set[str] = field(default_factory=set)

    @property
    def up_to_date(self) -> bool:
        return self.current == self.heads

    @property
    def newer_but_compatible(self) -> bool:
        """The schema is ahead of this code (revisions it does not know) and its recorded
        minimum compatible revision is one this code has reached: an expand-only upgrade."""
        return (
            bool(self.current)
            and not self.current <= self.known
            and self.min_compatible is not None
            and self.min_compatible in self.reached
        )

    @property
    def usable(self) -> bool:
        return self.up_to_date or self.newer_but_compatible

    def describe(self) -> str:
        current = ", ".join(sorted(self.current)) or "empty (no migrations applied)"
        heads = ", ".join(sorted(self.heads))
        if self.up_to_date:
            return f"database schema is at head ({current})"
        if self.newer_but_compatible:
            return (
                f"database schema is newer ({current}) than this code ({heads}) and compatible"
                f" with it (minimum compatible revision {self.min_compatible})"
            )
        if self.current and not self.current <= self.known:
            needs = self.min_compatible or "unrecorded"
            return (
                f"database schema is newer ({current}) than this code ({heads}) and needs code"
                f" at {needs} or later"
            )
        return f"database schema is behind: at {current}, head is {heads}"


def schema_state(url: str, script_location: Path = MIGRATIONS) -> SchemaState:
    scripts = _scripts(url, script_location)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
            recorded = _recorded_min_compatible(conn)
    finally:
        engine.dispose()
    heads = set(scripts.get_heads())
    reached = {rev.revision for rev in scripts.iterate_revisions(list(heads), "base")}
    known = {rev.revision for rev in scripts.walk_revisions()}
    return SchemaState(
        current=current, heads=heads, known=known, min_compatible=recorded, reached=reached
    )


def wait_for_schema(
    url: str, timeout: float, interval: float = 2.0, script_location: Path = MIGRATIONS
) -> SchemaState:
    """Block until the database answers and is at head (or newer and compatible with this
    code), or the timeout passes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            state = schema_state(url, script_location)
            if state.usable:
                return state
        except OperationalError:
            state = None
        if time.monotonic() >= deadline:
            if state is None:
                raise TimeoutError(f"database unreachable after {timeout:.0f}s")
            raise TimeoutError(state.describe())
        time.sleep(interval)
