"""The request's read-only session for list endpoints: the read replica's when
FLUXUS_DATABASE_REPLICA_URL is set, otherwise the request's own session (nothing changes).

Only routes that name it use it: a list a replica answers may lag the primary by the
replica's delay, so writes, detail reads and anything read right after a write keep using
`db_session()`. Authentication (tokens, revocation) reads the primary too.
"""

from __future__ import annotations

from flask import Flask, g
from sqlalchemy.orm import Session

from services.core.config import Settings
from services.core.db.session import get_read_engine, session_factory
from services.web.uow import app_settings, db_session

_KEY = "_fluxus_read_session"


def read_session() -> Session:
    """The session a list endpoint reads through (replica if configured, else primary)."""
    settings = app_settings()
    if not settings.database_replica_url:
        return db_session()
    session: Session | None = g.get(_KEY)
    if session is None:
        session = session_factory(get_read_engine(settings))()
        setattr(g, _KEY, session)
    return session


def _close(_exc: BaseException | None) -> None:
    # Read-only: nothing to commit; ending the transaction returns the connection.
    session: Session | None = g.pop(_KEY, None)
    if session is not None:
        session.rollback()
        session.close()


def install_read_replica(app: Flask, settings: Settings) -> None:
    """Close the replica session after each request (only needed with a replica)."""
    if settings.database_replica_url:
        app.teardown_request(_close)
