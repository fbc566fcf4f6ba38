"""A diagnostic, not how Fluxus runs: the same queues drained by RQ's non-forking worker.

`python -m bench.simple_worker QUEUE` runs FluxusSimpleWorker (what development and tests
use), so a job reuses the process's engine, connection pool and compiled-SQL cache instead of
building them in a fresh work horse; bench/profile.py compares it with `fluxus worker`.
"""

from __future__ import annotations

import sys

from services.core.config import get_settings
from services.core.logging import configure_logging
from services.worker.queues import queue, redis_connection
from services.worker.runner import FluxusSimpleWorker


def main(queue_name: str) -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    connection = redis_connection(settings)
    worker = FluxusSimpleWorker([queue(queue_name, connection)], connection=connection)
    worker.work(with_scheduler=False, logging_level=settings.log_level)


if __name__ == "__main__":
    main(sys.argv[1])
