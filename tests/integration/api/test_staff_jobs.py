"""Staff see RQ's failed jobs (queue, job, when, the exception's last line, never the
arguments) and put one back on its queue; real Redis, a real worker, a job that really fails."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient
from redis import Redis
from rq import get_current_job
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.config import Settings
from services.core.db.models import AuditLog
from services.worker.queues import queue, redis_connection
from services.worker.registry import EMAIL
from tests.integration.api.api_helpers import Account, assert_envelope
from tests.support.workers import BurstWorker

pytestmark = pytest.mark.integration
FIXED = "test:staff-jobs:fixed"


def flaky_mail(recipient: str) -> str:
    """Fails until the test says the mail server is back (a Redis key)."""
    job = get_current_job()
    assert job is not None
    if not job.connection.exists(FIXED):
        raise ConnectionRefusedError(f"SMTP server refused the connection for {recipient}")
    return "sent"


class _BurstWorker(BurstWorker):
    def subscribe(self) -> None:
        """No command channel: RQ's pubsub thread waits up to 60 s for its subscription when
        a burst ends as fast as this one, and nothing sends this worker commands."""


def _work(redis: Redis) -> None:
    _BurstWorker([queue(EMAIL, redis)], connection=redis).work(burst=True,
                                                               logging_level="WARNING")


def test_a_failed_job_is_listed_without_its_arguments_and_requeued(
    client: FlaskClient, session: Session, settings: Settings, staff: Account,
    customer: Account,
) -> None:
    redis = redis_connection(settings)
    job = queue(EMAIL, redis).enqueue(flaky_mail, "mei.lin@example.tw")
    _work(redis)

    listed = client.get("/api/jobs/failed/", headers=staff.headers)
    assert listed.status_code == 200, listed.get_json()
    body = listed.get_json()
    assert body["total"] == 1
    [failed] = body["results"]
    assert (failed["id"], failed["queue"]) == (job.id, EMAIL)
    assert failed["function"].endswith("test_staff_jobs.flaky_mail")
    assert failed["error"].startswith("ConnectionRefusedError: SMTP server refused")
    assert failed["failed_at"] is not None
    # The arguments never leave Redis (the exception's own line is what staff need).
    assert "Traceback" not in json.dumps(body) and "args" not in failed

    requeued = client.post(f"/api/jobs/failed/{job.id}/requeue/", headers=staff.headers)
    assert requeued.status_code == 200, requeued.get_json()
    assert client.get("/api/jobs/failed/", headers=staff.headers).get_json()["total"] == 0
    assert job.id in queue(EMAIL, redis).job_ids
    [row] = session.scalars(select(AuditLog).where(AuditLog.action == "job_requeued"))
    assert row.user_id == staff.user.id and EMAIL in row.description

    redis.set(FIXED, "1")
    _work(redis)
    job.refresh()
    assert job.get_status() == "finished" and job.return_value() == "sent"
    # Twice is not possible: it is no longer a failed job.
    assert_envelope(client.post(f"/api/jobs/failed/{job.id}/requeue/",
                                headers=staff.headers), 404)


def test_failed_jobs_are_staff_only_and_paged(
    client: FlaskClient, settings: Settings, staff: Account, customer: Account,
) -> None:
    redis = redis_connection(settings)
    for n in range(3):
        queue(EMAIL, redis).enqueue(flaky_mail, f"user{n}@example.tw")
    _work(redis)
    page = client.get("/api/jobs/failed/", query_string={"page_size": 2, "page": 2},
                      headers=staff.headers).get_json()
    assert (page["total"], page["pages"], len(page["results"])) == (3, 2, 1)
    assert_envelope(client.get("/api/jobs/failed/", headers=customer.headers), 403)
    assert_envelope(client.post("/api/jobs/failed/nope/requeue/", headers=customer.headers),
                    403)
    assert_envelope(client.post("/api/jobs/failed/nope/requeue/", headers=staff.headers), 404)
    assert_envelope(client.post("/api/jobs/failed/%3B/requeue/", headers=staff.headers), 404)
