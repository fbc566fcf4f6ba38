"""Every migration says which code can run against its schema (issue #22.3): a
`min_compatible_revision` of its own revision (a contract, or data the older code would not
write) or of the one before it (expand only), and the previous image's `db wait` follows it."""

from __future__ import annotations

import inspect
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import Script, ScriptDirectory

from services.core.db import migrate
from tests.support import databases

pytestmark = pytest.mark.integration

# What an expand-only migration never does to a table older code uses.
CONTRACT_OPS = re.compile(r"\b(drop_column|drop_table|alter_column|rename_table)\(")


def _scripts() -> list[Script]:
    directory = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    return list(directory.walk_revisions())


def test_every_migration_declares_its_minimum_compatible_revision() -> None:
    for script in _scripts():
        declared = getattr(script.module, "min_compatible_revision", None)
        assert declared in {script.revision, script.down_revision}, (
            f"{script.path}: declare min_compatible_revision as {script.revision!r} (older code"
            f" cannot run on it) or {script.down_revision!r} (it only adds what older code"
            " ignores)"
        )


def test_a_migration_declared_compatible_only_adds() -> None:
    for script in _scripts():
        if getattr(script.module, "min_compatible_revision", None) != script.down_revision:
            continue
        body = inspect.getsource(script.module.upgrade)
        assert not CONTRACT_OPS.search(body), f"{script.path} contracts the schema"
        for added in re.findall(r"add_column\((.*?)\)\s*\)?\n", body, re.DOTALL):
            if "nullable=False" in added:
                assert "server_default" in added, (
                    f"{script.path}: a NOT NULL column without a default breaks older inserts"
                )


@pytest.fixture
def database() -> Iterator[str]:
    with databases.fresh_database() as url:
        yield url


def _image_at(tmp_path: Path, revision: str) -> Path:
    """The migrations an image built at `revision` carries (nothing after it)."""
    scripts = tmp_path / f"image-{revision}"
    shutil.copytree(migrate.MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    for path in (scripts / "versions").glob("[0-9]*.py"):
        if path.name.split("_", 1)[0] > revision:
            path.unlink()
    return scripts


def test_the_previous_image_runs_after_an_expand_and_waits_after_a_contract(
    database: str, tmp_path: Path
) -> None:
    # 0006 only adds tables: an image at 0005 accepts the schema it leaves.
    migrate.upgrade(database, "0006")
    previous = migrate.schema_state(database, _image_at(tmp_path, "0005"))
    assert previous.usable, previous.describe()
    # 0003 leaves sales the older code would make without an e-invoice row: 0002 waits.
    migrate.downgrade(database, "0002")
    migrate.upgrade(database, "0003")
    older = migrate.schema_state(database, _image_at(tmp_path, "0002"))
    assert not older.usable
    assert "0003" in older.describe()
