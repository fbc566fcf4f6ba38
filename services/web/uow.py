"""One database session and one Jobs port per request; commit, then send the enqueued jobs."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, g
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from services.core.config import Settings
from services.core.db.session import get_engine, session_factory
from services.web.envelope import error_response
from services.worker.queues import RQJobs, redis_connection

log = logging.getLogger(__name__)

_EXTENSION = "fluxus_uow"


class _UnitOfWorkState:
    """Per-app, per-process resources: the settings and a lazily made Redis client."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._redis: Redis | None = None

    @property
    def redis(self) -> Redis:
        # Created lazily so every gunicorn worker builds its own pool after the fork.
        if self._redis is None:
            self._redis = redis_connection(self.settings)
        return self._redis


def _state() -> _UnitOfWorkState:
    state: _UnitOfWorkState = current_app.extensions[_EXTENSION]
    return state


def app_settings() -> Settings:
    """The settings the current app was created with."""
    return _state().settings


def app_redis() -> Redis:
    """This process's Redis client for the current app (queues, readiness)."""
    return _state().redis


def db_session() -> Session:
    """The request's session, opened on first use."""
    session: Session | None = g.get("_fluxus_session")
    if session is None:
        session = session_factory(get_engine(_state().settings))()
        g._fluxus_session = session
    return session


def jobs() -> RQJobs:
    """The request's Jobs port; what is enqueued is sent only after the commit."""
    port: RQJobs | None = g.get("_fluxus_jobs")
    if port is None:
        port = RQJobs(_state().redis)
        g._fluxus_jobs = port
    return port


def commit_on_error() -> None:
    """Keep this request's writes even if it answers with an error (e.g. a failed-login
    audit row or a revoked token family)."""
    g._fluxus_commit_on_error = True


def _finish(response: Response) -> Response:
    session: Session | None = g.pop("_fluxus_session", None)
    port: RQJobs | None = g.pop("_fluxus_jobs", None)
    if session is None:
        return response
    keep = response.status_code < 400 or g.get("_fluxus_commit_on_error", False)
    committed = False
    try:
        if keep:
            session.commit()
            committed = True
        else:
            session.rollback()
    except IntegrityError:
        session.rollback()
        log.warning("commit refused by a constraint", exc_info=True)
        response = error_response(409, "conflict", "The request conflicts with current data.")
    except (OperationalError, DBAPIError):
        session.rollback()
        log.warning("commit failed: database unavailable", exc_info=True)
        response = error_response(503, "service_unavailable",
                                  "The database is unavailable; try again shortly.")
    finally:
        session.close()
    if port is not None:
        _flush(port, committed)
    return response


def _flush(port: RQJobs, committed: bool) -> None:
    if not committed:
        port.discard()
        return
    try:
        port.flush()
    except RedisError:
        # The rows are committed; answering an error now would invite a duplicate retry.
        # The jobs the edges enqueue (e-mails, notifications) have sweepers that re-enqueue.
        log.error("enqueue after commit failed; a sweeper will pick the work up",
                  exc_info=True)


def _teardown(_exc: BaseException | None) -> None:
    # Safety net for a request that never reached after_request.
    session: Session | None = g.pop("_fluxus_session", None)
    if session is not None:
        session.rollback()
        session.close()
    port: Any = g.pop("_fluxus_jobs", None)
    if port is not None:
        port.discard()


def install_unit_of_work(app: Flask, settings: Settings) -> None:
    app.extensions[_EXTENSION] = _UnitOfWorkState(settings)
    app.after_request(_finish)
    app.teardown_request(_teardown)
