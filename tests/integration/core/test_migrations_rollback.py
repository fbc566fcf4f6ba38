"""Rollback across an expand-only migration (issue #22.3): after a newer image migrates, the
previous image's `fluxus db wait` accepts the newer schema its migrations record as compatible,
and its processes run; a contract migration still stops it with a message that says why."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.core.db import migrate
from tests.support import databases

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
FLUXUS = str(Path(sys.executable).with_name("fluxus"))

EXPAND = '''"""A newer image's expand-only migration: a nullable column the old code never reads."""
import sqlalchemy as sa
from alembic import op

revision = "0099_expand"
down_revision = {head!r}
branch_labels = None
depends_on = None
min_compatible_revision = {head!r}


def upgrade() -> None:
    op.add_column("plans", sa.Column("rollback_probe", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("plans", "rollback_probe")
'''
CONTRACT = '''"""A newer image's contract migration: code before it is no longer compatible."""
from alembic import op

revision = "0100_contract"
down_revision = "0099_expand"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("COMMENT ON COLUMN plans.rollback_probe IS 'contracted'")


def downgrade() -> None:
    op.execute("COMMENT ON COLUMN plans.rollback_probe IS NULL")
'''


@pytest.fixture
def database() -> Iterator[str]:
    with databases.fresh_database() as url:
        migrate.upgrade(url)  # the previous image's own migrations
        yield url


@pytest.fixture
def newer_image(tmp_path: Path, database: str) -> Path:
    """The migrations of an image one release ahead: ours plus an expand and a contract."""
    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (head,) = migrate.head_revisions(database)
    (scripts / "versions" / "0099_expand.py").write_text(EXPAND.format(head=head))
    (scripts / "versions" / "0100_contract.py").write_text(CONTRACT)
    return scripts


def fluxus(database: str, *args: str) -> subprocess.CompletedProcess[str]:
    """A process of the previous image: this code, against the database."""
    env = {**os.environ, "FLUXUS_ENV": "development", "FLUXUS_DATABASE_URL": database}
    return subprocess.run(
        [FLUXUS, *args], env=env, capture_output=True, text=True, timeout=120, cwd=REPO
    )


def test_the_previous_image_runs_on_an_expanded_schema_and_stops_at_a_contract(
    database: str, newer_image: Path
) -> None:
    migrate.upgrade(database, "0099_expand", script_location=newer_image)

    waited = fluxus(database, "db", "wait", "--timeout", "5")
    assert waited.returncode == 0, waited.stderr
    assert "newer" in waited.stdout and "compatible" in waited.stdout
    # Its processes run against the newer schema (a real one, through the ORM).
    applied = fluxus(database, "plans", "apply", "-f", str(REPO / "k8s" / "samples"))
    assert applied.returncode == 0, applied.stderr
    assert "plan/pro-monthly" in applied.stdout
    # A re-applied older chart's migration hook neither fails nor downgrades.
    upgraded = fluxus(database, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert migrate.schema_state(database, newer_image).current == {"0099_expand"}

    migrate.upgrade(database, "0100_contract", script_location=newer_image)
    refused = fluxus(database, "db", "wait", "--timeout", "1")
    assert refused.returncode == 1
    assert "needs code at 0100_contract or later" in refused.stderr


def test_the_newer_image_itself_sees_its_schema_at_head(database: str, newer_image: Path) -> None:
    migrate.upgrade(database, script_location=newer_image)
    state = migrate.schema_state(database, newer_image)
    assert state.up_to_date and state.usable
    # And an image that is behind still waits (nothing newer-but-compatible about it).
    migrate.downgrade(database, "-2", script_location=newer_image)
    behind = migrate.schema_state(database, newer_image)
    assert not behind.usable
    assert "behind" in behind.describe()
