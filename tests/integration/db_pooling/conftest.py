"""Fixtures for PgBouncer and read-replica tests: a private pooler in transaction mode, and
read-only roles standing in for a replica."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import sql
from sqlalchemy.engine import make_url

from tests.support.databases import PG_ADMIN_URL, unique_name
from tests.support.pgbouncer import PgBouncer


@pytest.fixture
def pgbouncer() -> Iterator[PgBouncer]:
    # Not tmp_path: a long-lived pgbouncer must not lose its directory to pytest's pruning.
    with tempfile.TemporaryDirectory(prefix="fluxus-pgbouncer-") as path:
        bouncer = PgBouncer(Path(path))
        bouncer.start()
        try:
            yield bouncer
        finally:
            bouncer.stop()


def _connect(database_url: str) -> psycopg2.extensions.connection:
    url = make_url(database_url)
    conn = psycopg2.connect(host=url.host, port=url.port or 5432, user=url.username,
                            password=url.password, dbname=url.database, connect_timeout=5)
    conn.autocommit = True
    return conn


@contextmanager
def read_only_role(database_url: str) -> Iterator[str]:
    """`database_url` as a new role whose every transaction is read only (as on a hot
    standby) and that may only SELECT: the replica URL of these tests."""
    role = unique_name("fluxus_reader")
    admin = _connect(PG_ADMIN_URL)
    db = _connect(database_url)
    try:
        with admin.cursor() as cur:
            cur.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
            cur.execute(sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on")
                        .format(sql.Identifier(role)))
        with db.cursor() as cur:
            cur.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}")
                        .format(sql.Identifier(role)))
        yield make_url(database_url).set(username=role).render_as_string(hide_password=False)
    finally:
        with admin.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE usename = %s", (role,))
        with db.cursor() as cur:
            cur.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        with admin.cursor() as cur:
            cur.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
        db.close()
        admin.close()
