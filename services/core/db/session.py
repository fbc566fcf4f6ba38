"""Engines created lazily per process (gunicorn and RQ fork) and sessions owned by the edge."""

from __future__ import annotations

import os
import select
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import Session, configure_mappers, sessionmaker

from services.core.config import Settings, get_settings, normalize_database_url
from services.core.errors import ServiceUnavailable

_engines: dict[tuple[int, str], Engine] = {}
# Connections are replaced at least this often (load balancers and poolers drop idle ones).
POOL_RECYCLE_SECONDS = 1800


def make_engine(url: str, settings: Settings | None = None) -> Engine:
    settings = settings or get_settings()
    url = normalize_database_url(url)
    # Bound parameters carry e-mail addresses, token hashes and payment fields: keep them out
    # of exception messages (and so out of logs) everywhere but development.
    kwargs: dict[str, Any] = {"future": True, "hide_parameters": settings.env != "development"}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kwargs["pool_size"] = settings.db_pool_size
        kwargs["max_overflow"] = settings.db_pool_size
        kwargs["pool_timeout"] = settings.db_connect_timeout
        # No pre-ping round trip per checkout: a connection the server closed is found by
        # looking at its socket (_closed_by_server), and none lives longer than this.
        kwargs["pool_recycle"] = POOL_RECYCLE_SECONDS
        kwargs["connect_args"] = {
            "connect_timeout": settings.db_connect_timeout,
            # A silently dropped connection is noticed in ~1 minute instead of never.
            "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
            "keepalives_count": 3,
        }
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        event.listen(engine, "checkout", _closed_by_server)
    return engine


def _closed_by_server(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Refuse a pooled connection whose server has gone (a restart, an administrator's
    terminate, an idle timeout): the pool then opens a fresh one, so no request fails on it.

    An idle connection has nothing to read; once the server has sent its goodbye (or closed
    the socket) there is. A poll is a system call, where pre-ping was a round trip to the
    server on every checkout.
    """
    if dbapi_connection.closed:
        raise DisconnectionError("the database connection is closed")
    poller = select.poll()  # not select(): a busy process may hold descriptors past 1024
    poller.register(dbapi_connection.fileno(), select.POLLIN)
    if poller.poll(0):
        raise DisconnectionError("the database server closed this connection")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def get_engine(settings: Settings | None = None) -> Engine:
    """This process's engine for the configured database (a fork gets its own)."""
    settings = settings or get_settings()
    key = (os.getpid(), settings.database_url)
    engine = _engines.get(key)
    if engine is None:
        engine = _engines[key] = make_engine(settings.database_url, settings)
    return engine


def get_read_engine(settings: Settings | None = None) -> Engine:
    """The engine list reads use: the replica's (FLUXUS_DATABASE_REPLICA_URL), else the
    primary's own engine, so nothing changes without a replica.

    Its transactions begin READ ONLY (psycopg2 sends `BEGIN READ ONLY`, nothing that outlives
    the transaction, so it works through PgBouncer in transaction mode): a write sent there
    by mistake fails loudly even where the "replica" would accept it.
    """
    settings = settings or get_settings()
    if not settings.database_replica_url:
        return get_engine(settings)
    key = (os.getpid(), settings.database_replica_url)
    engine = _engines.get(key)
    if engine is None:
        replica = make_engine(settings.database_replica_url, settings)
        engine = _engines[key] = replica.execution_options(postgresql_readonly=True)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, future=True)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error, always close.

    An unreachable database surfaces as ServiceUnavailable so every edge answers 503.
    """
    session = session_factory(engine or get_engine())()
    try:
        yield session
        session.commit()
    except (OperationalError, DBAPIError) as exc:
        session.rollback()
        if getattr(exc, "connection_invalidated", False) or isinstance(exc, OperationalError):
            raise ServiceUnavailable("The database is unavailable; try again shortly.") from exc
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def dispose_engines() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def configure_orm() -> None:
    """Configure every mapped class now. A process about to fork (gunicorn's master, an RQ
    worker before its scheduler child and work horses) then hands its children configured
    mappers; otherwise each child configures them on its first query, which was a fifth of
    a forked renewal job's time."""
    import services.core.db.models  # noqa: F401 - every model mapped before configuring

    configure_mappers()
