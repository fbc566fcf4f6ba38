"""A worker killed with SIGKILL mid-job: the job is recovered, retried, and sent exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import uuid

import pytest
from redis import Redis
from rq.registry import FailedJobRegistry, StartedJobRegistry
from sqlalchemy.orm import Session

from services.core.config import Settings
from services.core.db.models import EmailDelivery
from services.core.usecases.emails import queue_email
from services.worker.maintenance import recover_abandoned
from services.worker.queues import RQJobs, redis_connection
from services.worker.registry import EMAIL
from tests.integration.worker.conftest import (
    Inbox,
    children_of,
    drain_until,
    fluxus_popen,
)
from tests.support.factories import make_user
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


def _welcome_mail(session: Session, connection: Redis) -> uuid.UUID:
    jobs = RQJobs(connection)
    user = make_user(session)
    delivery_id = queue_email(
        session, jobs, template="welcome", user=user, event_key=f"welcome:{user.id}"
    )
    session.commit()
    jobs.flush()
    return delivery_id


def _lease(started: StartedJobRegistry) -> float:
    """When the one running job counts as abandoned (its score in RQ's started registry)."""
    [(_entry, score)] = started.connection.zrange(started.key, 0, -1, withscores=True)
    return float(score)


def _email_worker(settings: Settings, *extra: str) -> subprocess.Popen[str]:
    """A burst `fluxus worker` on the e-mail queue whose jobs count as abandoned 2 s after a
    missed heartbeat (one a second)."""
    grace = ("--heartbeat-grace", "2", "--monitoring-interval", "1")
    return fluxus_popen(settings, "worker", "--burst", "--queues", EMAIL, *grace, *extra)


@pytest.mark.parametrize("mode", [(), ("--fork",)], ids=["inline", "fork"])
def test_job_of_a_killed_worker_runs_again_and_mails_once(
    session: Session,
    wsettings: Settings,
    smtp: tuple[Inbox, int],
    fast_retries: None,
    mode: tuple[str, ...],
) -> None:
    inbox, _port = smtp
    release = inbox.stall = threading.Event()
    connection = redis_connection(wsettings)
    delivery_id = _welcome_mail(session, connection)

    worker = _email_worker(wsettings, *mode)
    try:
        wait_for(inbox.stalled.is_set, "the worker to be in the middle of SMTP DATA", 30)
        horses = children_of(worker.pid)
        os.killpg(worker.pid, signal.SIGKILL)
        for horse in horses:  # RQ puts its work horse in a process group of its own
            os.kill(horse, signal.SIGKILL)
        worker.communicate(timeout=10)
    finally:
        release.set()
    assert worker.returncode == -signal.SIGKILL

    recovered = wait_for(lambda: recover_abandoned(connection), "RQ to see the job abandoned", 20)
    assert recovered == [f"email-{delivery_id}"]
    drain_until(wsettings, lambda: inbox.messages, timeout=60)  # a worker start per round

    assert len(inbox.messages) == 1
    session.expire_all()
    assert session.get_one(EmailDelivery, delivery_id).status == "sent"
    assert StartedJobRegistry(EMAIL, connection=connection).count == 0
    assert FailedJobRegistry(EMAIL, connection=connection).count == 0


def test_a_long_job_of_a_live_inline_worker_is_never_taken_for_abandoned(
    session: Session, wsettings: Settings, smtp: tuple[Inbox, int], fast_retries: None
) -> None:
    """The inline worker runs the job in its main thread; its heartbeat thread must keep the
    job's lease alive well past the 2 s grace, or a sweep would run the job twice."""
    inbox, _port = smtp
    release = inbox.stall = threading.Event()
    connection = redis_connection(wsettings)
    delivery_id = _welcome_mail(session, connection)
    started = StartedJobRegistry(EMAIL, connection=connection)

    worker = _email_worker(wsettings)
    try:
        wait_for(inbox.stalled.is_set, "the worker to be in the middle of SMTP DATA", 30)
        [job_id] = started.get_job_ids()
        first_lease = _lease(started)
        # Five heartbeats later the lease has moved on, and no sweep sees the job abandoned.
        wait_for(
            lambda: _lease(started) >= first_lease + 5, "heartbeats to extend the lease", 30
        )
        assert recover_abandoned(connection) == []
    finally:
        release.set()  # the relay then answers 451: the job fails and is retried
    # Seconds: RQ's own teardown could wait 60 s on its pub/sub thread (a race, about one
    # exit in ten); test_worker_shutdown.py pins the fix.
    worker.communicate(timeout=60)
    assert worker.returncode == 0
    drain_until(wsettings, lambda: inbox.messages, timeout=60)  # a worker start per round

    assert job_id == f"email-{delivery_id}"
    assert len(inbox.messages) == 1
    session.expire_all()
    assert session.get_one(EmailDelivery, delivery_id).status == "sent"
    assert FailedJobRegistry(EMAIL, connection=connection).count == 0
