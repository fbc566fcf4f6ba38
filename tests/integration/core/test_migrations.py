"""Alembic owns the schema: models and migrations agree, and they run both ways."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect

from services.cli import main
from services.core.db import migrate
from services.core.db.base import Base
from tests.support import databases

pytestmark = pytest.mark.integration


@pytest.fixture
def empty_database():  # type: ignore[no-untyped-def]
    with databases.fresh_database() as url:
        yield url


def _diff(url: str) -> list:  # type: ignore[type-arg]
    engine = create_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    return diff


def test_models_and_migrations_agree(database_url: str) -> None:
    assert _diff(database_url) == []


def test_upgrade_downgrade_upgrade(empty_database: str) -> None:
    migrate.upgrade(empty_database)
    migrate.downgrade(empty_database, "base")
    engine = create_engine(empty_database)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    migrate.upgrade(empty_database)
    assert migrate.schema_state(empty_database).up_to_date
    assert _diff(empty_database) == []


def test_db_check_tells_the_truth(empty_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.core.config import get_settings

    monkeypatch.setenv("FLUXUS_DATABASE_URL", empty_database)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        behind = runner.invoke(main, ["db", "check"])
        assert behind.exit_code == 1
        assert "behind" in behind.output and "fluxus db upgrade" in behind.output

        upgraded = runner.invoke(main, ["db", "upgrade"])
        assert upgraded.exit_code == 0, upgraded.output

        current = runner.invoke(main, ["db", "check"])
        assert current.exit_code == 0
        assert "at head" in current.output

        waited = runner.invoke(main, ["db", "wait", "--timeout", "5"])
        assert waited.exit_code == 0
    finally:
        get_settings.cache_clear()


def test_db_check_on_an_unreachable_database(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.core.config import get_settings

    monkeypatch.setenv("FLUXUS_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:1/none")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["db", "check"])
        assert result.exit_code == 2
        assert "cannot reach" in result.output
    finally:
        get_settings.cache_clear()
