"""A worker killed with SIGKILL mid-job: the job is recovered, retried, and sent exactly once."""

from __future__ import annotations

import os
import signal
import threading

import pytest
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


def test_job_of_a_killed_worker_runs_again_and_mails_once(
    session: Session, wsettings: Settings, smtp: tuple[Inbox, int], fast_retries: None
) -> None:
    inbox, _port = smtp
    release = inbox.stall = threading.Event()
    connection = redis_connection(wsettings)
    jobs = RQJobs(connection)
    user = make_user(session)
    delivery_id = queue_email(
        session, jobs, template="welcome", user=user, event_key=f"welcome:{user.id}"
    )
    session.commit()
    jobs.flush()

    worker = fluxus_popen(
        wsettings,
        "worker",
        "--burst",
        "--queues",
        EMAIL,
        "--heartbeat-grace",
        "2",
        "--monitoring-interval",
        "1",
    )
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
    drain_until(wsettings, lambda: inbox.messages)

    assert len(inbox.messages) == 1
    session.expire_all()
    assert session.get_one(EmailDelivery, delivery_id).status == "sent"
    assert StartedJobRegistry(EMAIL, connection=connection).count == 0
    assert FailedJobRegistry(EMAIL, connection=connection).count == 0
