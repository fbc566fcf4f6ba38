"""Real PostgreSQL for tests: a migrated template, and a fresh database per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import redis
from psycopg2 import sql
from sqlalchemy.engine import make_url

from services.core.db import migrate

PG_ADMIN_URL = os.environ.get(
    "FLUXUS_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)


def _connect_admin() -> psycopg2.extensions.connection:
    url = make_url(PG_ADMIN_URL)
    try:
        conn = psycopg2.connect(
            host=url.host, port=url.port or 5432, user=url.username, password=url.password,
            dbname=url.database, connect_timeout=5,
        )
    except psycopg2.OperationalError as exc:
        raise RuntimeError(
            f"PostgreSQL is required for these tests and is not reachable at {PG_ADMIN_URL}: "
            f"{exc}. Start it (see README) or set FLUXUS_TEST_POSTGRES_URL."
        ) from exc
    conn.autocommit = True
    return conn


def database_url(name: str) -> str:
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def create_database(name: str, template: str | None = None) -> str:
    conn = _connect_admin()
    try:
        with conn.cursor() as cur:
            query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if template:
                query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            cur.execute(query)
    finally:
        conn.close()
    return database_url(name)


def drop_database(name: str) -> None:
    conn = _connect_admin()
    try:
        with conn.cursor() as cur:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            cur.execute(drop.format(sql.Identifier(name)))
    finally:
        conn.close()


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@contextmanager
def migrated_template() -> Iterator[str]:
    """A database at head that fresh test databases are copied from (CREATE … TEMPLATE)."""
    name = unique_name("fluxus_tpl")
    url = create_database(name)
    try:
        migrate.upgrade(url)
        yield name
    finally:
        drop_database(name)


@contextmanager
def fresh_database(template: str | None = None) -> Iterator[str]:
    name = unique_name("fluxus_test")
    url = create_database(name, template)
    try:
        yield url
    finally:
        drop_database(name)


def redis_client(url: str) -> redis.Redis:
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        raise RuntimeError(
            f"Redis is required for these tests and is not reachable at {url}: {exc}"
        ) from exc
    return client
