"""A worker outlives a Redis outage, and delayed retries run again soon after it ends."""

from __future__ import annotations

import dataclasses
import os
import signal
from datetime import timedelta
from pathlib import Path

import pytest
from rq.registry import FinishedJobRegistry

from services.core.config import Settings
from services.worker.queues import queue
from services.worker.registry import MAINTENANCE, spec
from tests.integration.worker.conftest import children_of, fluxus_popen
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
        worker.communicate(timeout=30)
        server.stop()
