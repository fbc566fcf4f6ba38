"""The RQ side of the Jobs port against a real Redis: a job asked for again while it waits is
not queued twice, a rolled-back unit of work sends nothing, and a coalesced job (the
webhook's drain) costs one Redis command when one is already queued: no lookup, no enqueue."""

from __future__ import annotations

import uuid

import pytest
from redis import Redis
from rq import Queue

from services.core.usecases.payment_notifications import DRAIN_JOB
from services.worker.queues import RQJobs
from services.worker.registry import PAYMENTS

pytestmark = pytest.mark.integration


def _calls(client: Redis, command: str) -> int:
    stats = client.info("commandstats").get(f"cmdstat_{command}", {})
    return int(stats.get("calls", 0))


def test_a_job_asked_for_again_while_it_waits_is_not_queued_twice(redis_url: str) -> None:
    client = Redis.from_url(redis_url)
    job_id = f"notification-{uuid.uuid4()}"
    payments = Queue(PAYMENTS, connection=client)

    jobs = RQJobs(client)
    jobs.enqueue("process_notification", job_id.removeprefix("notification-"), job_id=job_id)
    jobs.flush()
    jobs.enqueue("process_notification", job_id.removeprefix("notification-"), job_id=job_id)
    jobs.flush()
    assert payments.job_ids == [job_id]

    # A rolled-back unit of work forgets what it was told.
    jobs.enqueue("process_notification", "other", job_id="notification-other")
    jobs.discard()
    jobs.flush()
    assert payments.job_ids == [job_id]


def test_a_ringing_doorbell_costs_one_command_and_queues_nothing(redis_url: str) -> None:
    client = Redis.from_url(redis_url)
    payments = Queue(PAYMENTS, connection=client)
    jobs = RQJobs(client)
    jobs.enqueue(DRAIN_JOB)
    jobs.flush()
    [drain] = payments.jobs
    client.config_resetstat()

    for _ in range(5):  # five more notifications stored before the drain starts
        jobs.enqueue(DRAIN_JOB)
        jobs.flush()

    assert _calls(client, "set") == 5
    assert _calls(client, "exists") == _calls(client, "hset") == _calls(client, "rpush") == 0
    assert payments.job_ids == [drain.id]
