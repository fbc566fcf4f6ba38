"""Alembic owns the schema: models and migrations agree, and they run both ways."""

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import Connection, create_engine, inspect, text

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


def _insert(conn: Connection, table: str, values: dict[str, object]) -> None:
    """A row with `values`; every other NOT NULL column gets a plain value of its type."""
    for column in inspect(conn).get_columns(table):
        name, kind = column["name"], str(column["type"]).upper()
        default = str(column.get("default") or "")
        # SQLite cannot evaluate the now() server defaults (the ORM fills them in development).
        if name in values or column["nullable"] or (default and "now" not in default.lower()):
            continue
        if "CHAR" in kind or "TEXT" in kind:
            values[name] = ""
        elif "BOOL" in kind:
            values[name] = False
        elif "TIME" in kind:
            values[name] = SOLD_AT
        elif "JSON" in kind:
            values[name] = "{}"
        else:
            values[name] = 0
    if conn.dialect.name == "sqlite":  # stored as SQLAlchemy stores them there
        values = {k: v.hex if isinstance(v, uuid.UUID) else
                  v.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime) else v
                  for k, v in values.items()}
    names = ", ".join(values)
    marks = ", ".join(f":{name}" for name in values)
    # Table and column names come from this test and the database catalogue, not from input.
    conn.execute(text(f"INSERT INTO {table} ({names}) VALUES ({marks})"), values)  # noqa: S608


def _sale_before_einvoicing(url: str) -> None:
    """A customer with a 統編 and one invoiced sale, as the schema before 0003 held them."""
    engine = create_engine(url)
    with engine.begin() as conn:
        _insert(conn, "users", {"id": USER, "username": "acme", "email": "a@acme.tw",
                                "company_name": "Acme 股份有限公司", "tax_id": "22099131"})
        _insert(conn, "plans", {"id": PLAN, "name": "Pro", "slug": "pro", "price": 990,
                                "billing_cycle": "monthly", "currency": "TWD"})
        _insert(conn, "subscriptions", {"id": SUB, "user_id": USER, "plan_id": PLAN,
                                        "status": "active"})
        _insert(conn, "orders", {"id": ORDER, "order_number": "FX000000000000000001",
                                 "user_id": USER, "subscription_id": SUB, "plan_id": PLAN,
                                 "amount": 990, "status": "completed",
                                 "payment_method": "credit_card"})
        _insert(conn, "invoices", {"id": INVOICE, "invoice_number": "FX2026-000001",
                                   "order_id": ORDER, "user_id": USER, "amount": 943,
                                   "tax_amount": 47, "total_amount": 990, "issued_at": SOLD_AT})
    engine.dispose()


USER, PLAN, SUB, ORDER, INVOICE = (uuid.uuid4() for _ in range(5))
SOLD_AT = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_sales_before_einvoicing_are_recorded_as_not_issued(
    empty_database: str, tmp_path: Path, backend: str
) -> None:
    url = empty_database if backend == "postgresql" else f"sqlite:///{tmp_path / 'dev.db'}"
    migrate.upgrade(url, "0002")
    _sale_before_einvoicing(url)
    migrate.upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT status, reason, sales_amount, relate_number FROM einvoices")).one()
        kind = conn.execute(text("SELECT invoice_kind FROM users")).scalar_one()
    engine.dispose()
    assert tuple(row) == ("not_issued", "predates_einvoicing", 990, "FX000000000000000001")
    assert kind == "company"  # a customer with a 統編 and a company name kept buying as one
