"""Operating the queues: periodic jobs registered once, failed jobs listed and requeued."""

from __future__ import annotations

import pytest
from rq.registry import FailedJobRegistry

from services.core.config import Settings
from services.worker.queues import queue, redis_connection
from services.worker.registry import MAINTENANCE, PERIODIC, RENEWALS
from services.worker.schedule import periodic_job_id, register_periodic, scheduler_for
from tests.integration.worker.conftest import fluxus, run_burst

pytestmark = pytest.mark.integration


def test_periodic_jobs_are_registered_once_and_all_run(wsettings: Settings) -> None:
    connection = redis_connection(wsettings)
    first = scheduler_for(connection)
    register_periodic(first)
    times = dict((job.id, at) for job, at in first.get_jobs(with_times=True))

    result = fluxus(wsettings, "scheduler", "--burst")  # a restart: registers again, then runs

    assert result.returncode == 0, result.stderr
    ids = sorted(job.id for job in scheduler_for(connection).get_jobs())
    assert ids == sorted(periodic_job_id(p.job) for p in PERIODIC) == sorted(times)
    assert queue(MAINTENANCE, connection).count == len(PERIODIC)
    run_burst(wsettings)
    assert FailedJobRegistry(MAINTENANCE, connection=connection).count == 0
    assert queue(MAINTENANCE, connection).count == 0


def test_failed_jobs_are_listed_with_their_error_and_requeued(wsettings: Settings) -> None:
    connection = redis_connection(wsettings)
    job = queue(RENEWALS, connection).enqueue(
        "services.worker.jobs.renewals.renew_subscriptions",
        [("not-a-subscription-id", "2027-02-01T00:00:00+00:00")],
    )
    run_burst(wsettings)

    listed = fluxus(wsettings, "jobs", "failed")
    assert listed.returncode == 0
    [line] = listed.stdout.splitlines()
    assert line.startswith(f"{job.id}\trenewals\t")
    assert "ValueError: badly formed hexadecimal UUID string" in line

    assert fluxus(wsettings, "jobs", "requeue", "no-such-job").returncode == 1
    requeued = fluxus(wsettings, "jobs", "requeue", job.id)
    assert requeued.returncode == 0 and f"requeued {job.id}" in requeued.stdout
    assert queue(RENEWALS, connection).job_ids == [job.id]
    assert FailedJobRegistry(RENEWALS, connection=connection).count == 0
