"""A worker outlives a Redis outage, and delayed retries run again soon after it ends."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
from rq.registry import FinishedJobRegistry, StartedJobRegistry

from services.core.config import Settings
from services.worker.queues import queue
from services.worker.registry import MAINTENANCE, PAYMENTS, spec
from tests.integration.worker.conftest import FLUXUS, children_of, fluxus_env, fluxus_popen
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


def _running(pid: int) -> bool:
    """Alive and not a zombie (a dead child stays listed until its parent reaps it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_delayed_jobs_run_again_soon_after_redis_comes_back(
    wsettings: Settings, tmp_path: Path
) -> None:
    """RQ runs delayed jobs (retry backoffs) from a scheduler child process, which dies with
    Redis; the worker restarts it at its next maintenance tick (here 2 s, by default 60)."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    settings = dataclasses.replace(wsettings, redis_url=server.url)
    worker = fluxus_popen(settings, "worker", "--queues", MAINTENANCE,
                          "--maintenance-interval", "2")
    try:
        scheduler = wait_for(lambda: children_of(worker.pid), "RQ's scheduler child", 30)
        server.stop()
        wait_for(lambda: not any(_running(pid) for pid in scheduler),
                 "the scheduler child to die with Redis", 30)
        server.start()

        delayed = queue(MAINTENANCE, server.client()).enqueue_in(
            timedelta(seconds=1), spec("recover_abandoned_jobs").func
        )
        finished = FinishedJobRegistry(MAINTENANCE, connection=server.client())
        wait_for(lambda: delayed.id in finished.get_job_ids(), "the delayed job to run", 30)
        assert worker.poll() is None, "the worker outlived the outage"
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        _out, err = worker.communicate(timeout=30)
        print(f"--- the worker's log\n{err[-20000:]}")  # shown when the test fails
        server.stop()


@pytest.mark.parametrize("mode", [[], ["--fork"]], ids=["inline", "fork"])
def test_a_job_ending_while_redis_is_away_leaves_its_worker_up_until_told_to_stop(
    wsettings: Settings, tmp_path: Path, mode: list[str]
) -> None:
    """RQ records a finished job's result and heartbeat outside its dequeue retry, so a job
    ending while Redis was away hit RQ's bare `except` ("found an unhandled exception,
    quitting") and the worker exited 1 — why the payment-storm test once restarted workers.
    Now it waits for Redis, runs the next job, and exits 0 when stopped, even with Redis gone."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    settings = dataclasses.replace(wsettings, redis_url=server.url)
    log = tmp_path / "worker.log"
    with log.open("w") as out:  # a file, not a pipe nobody reads while it logs retries
        worker = subprocess.Popen([FLUXUS, "worker", "--queues", PAYMENTS, *mode],
                                  env=fluxus_env(settings), stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        slow = queue(PAYMENTS, server.client()).enqueue(time.sleep, 2)
        started = StartedJobRegistry(PAYMENTS, connection=server.client())
        wait_for(lambda: slow.id in started.get_job_ids(), "the job to start", 30)
        server.stop()
        wait_for(lambda: worker.poll() is not None or f"recording job {slow.id}" in log.read_text(),
                 "the job to end while Redis is away", 30)
        assert worker.poll() is None, f"the worker exited: {log.read_text()[-3000:]}"
        server.start()

        following = queue(PAYMENTS, server.client()).enqueue(os.getpid)
        wait_for(lambda: following.get_status(refresh=True) == "finished",
                 "the next job to run once Redis is back", 60)
        server.stop()
        os.killpg(worker.pid, signal.SIGTERM)
        assert worker.wait(timeout=30) == 0, log.read_text()[-3000:]
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
        server.stop()
