"""The RQ worker Fluxus runs: RQ's own Worker with a tunable abandoned-job grace."""

from __future__ import annotations

from typing import Any

from rq import Worker
from rq.job import Job

DEFAULT_HEARTBEAT_GRACE = 60  # RQ's own margin after the last heartbeat


class FluxusWorker(Worker):
    """A forking RQ worker whose running jobs count as abandoned `heartbeat_grace` seconds
    after the last heartbeat instead of RQ's fixed 60 (see services.worker.maintenance)."""

    def __init__(self, *args: Any, heartbeat_grace: int = DEFAULT_HEARTBEAT_GRACE, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.heartbeat_grace = heartbeat_grace

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        rq_ttl = super().get_heartbeat_ttl(job, working_time)
        return max(1, rq_ttl - DEFAULT_HEARTBEAT_GRACE + self.heartbeat_grace)
