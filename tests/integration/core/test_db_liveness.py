"""Pooled connections the database server closed are replaced at checkout, without a
round trip per checkout: the next unit of work after a terminate succeeds."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from services.core.config import Settings
from services.core.db.session import make_engine, session_scope

pytestmark = pytest.mark.integration


def _backend_pid(engine: Engine) -> int:
    with session_scope(engine) as session:
        return int(session.scalar(text("SELECT pg_backend_pid()")))


def test_work_after_the_server_dropped_every_pooled_connection_succeeds(
    settings: Settings, engine: Engine
) -> None:
    pooled = make_engine(settings.database_url, settings)
    try:
        first = _backend_pid(pooled)
        with engine.connect() as admin:  # what a restart does to each connection
            assert admin.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        # The terminate is asynchronous: wait until the backend is gone, not a fixed time.
        with engine.connect() as admin:
            while admin.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": first}
            ):
                admin.rollback()
        second = _backend_pid(pooled)  # would raise OperationalError on the dead connection
        assert second != first
    finally:
        pooled.dispose()
