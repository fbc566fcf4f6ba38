"""The RQ side of the Jobs port against a real Redis: a job for a row the transaction just
created is enqueued without first looking for a job of that id (one round trip, not two, on
every ECPay notification), while any other id is still looked for, so a job asked for again
while it waits is not queued twice."""

from __future__ import annotations

import uuid

import pytest
from redis import Redis
from rq import Queue

from services.worker.queues import RQJobs
from services.worker.registry import PAYMENTS

pytestmark = pytest.mark.integration


def _exists_calls(client: Redis) -> int:
    stats = client.info("commandstats").get("cmdstat_exists", {})
    return int(stats.get("calls", 0))


def test_a_new_rows_job_skips_the_lookup_and_a_repeat_is_still_deduplicated(
    redis_url: str,
) -> None:
    client = Redis.from_url(redis_url)
    notification = uuid.uuid4()
    job_id = f"notification-{notification}"
    client.config_resetstat()

    jobs = RQJobs(client)
    jobs.enqueue("process_notification", str(notification), job_id=job_id, new_id=True)
    jobs.flush()
    assert _exists_calls(client) == 0
    payments = Queue(PAYMENTS, connection=client)
    assert payments.job_ids == [job_id]

    # ECPay sends the same notification again while its job still waits: the id is looked
    # for and the waiting job is not queued a second time.
    jobs.enqueue("process_notification", str(notification), job_id=job_id)
    jobs.flush()
    looked = _exists_calls(client)
    assert looked > 0
    assert payments.job_ids == [job_id]

    # A rolled-back unit of work forgets what it was told, the new ids included.
    jobs.enqueue("process_notification", "other", job_id="notification-other", new_id=True)
    jobs.discard()
    jobs.enqueue("process_notification", "other", job_id="notification-other")
    jobs.flush()
    assert _exists_calls(client) > looked
    assert payments.job_ids == [job_id, "notification-other"]
