"""An in-process RQ worker for tests: RQ's SimpleWorker with the production workers' prompt
pub/sub shutdown, so a burst run never waits a minute to quit (services/worker/runner.py)."""

from __future__ import annotations

from rq import SimpleWorker

from services.worker.runner import PromptUnsubscribeMixin


class BurstWorker(PromptUnsubscribeMixin, SimpleWorker):
    pass
