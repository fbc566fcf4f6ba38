"""A worker quits promptly: its pub/sub thread must not hold the exit for RQ's 60 s sleep."""

from __future__ import annotations

import time

import pytest
from rq import SimpleWorker

from services.core.config import Settings
from services.worker.queues import queue, redis_connection
from services.worker.registry import EMAIL
from services.worker.runner import FluxusInlineWorker, FluxusWorker
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


def _seconds_to_unsubscribe(worker: SimpleWorker) -> float:
    """Put the worker's pub/sub thread where the race leaves it one exit in ten: it has read
    the UNSUBSCRIBE reply and sleeps until a subscription that never comes. Then time the
    worker's own unsubscribe, the step of its teardown that joined that thread."""
    worker.subscribe()
    pubsub = worker.pubsub
    wait_for(lambda: pubsub.subscribed, "the worker's channel to be subscribed", 10)
    pubsub.unsubscribe()
    wait_for(lambda: not pubsub.subscribed, "the thread to read the UNSUBSCRIBE reply", 10)
    started = time.monotonic()
    worker.unsubscribe()
    return time.monotonic() - started


@pytest.mark.parametrize("worker_class", [FluxusInlineWorker, FluxusWorker])
def test_a_worker_whose_pubsub_thread_sleeps_still_quits_at_once(
    settings: Settings, worker_class: type[SimpleWorker]
) -> None:
    connection = redis_connection(settings)
    worker = worker_class([queue(EMAIL, connection)], connection=connection)
    # RQ's own unsubscribe waits out the thread's 60 s sleep here.
    assert _seconds_to_unsubscribe(worker) < 10
