"""Queue gauges computed on scrape: depth, oldest waiting job, running, failed, workers."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client.core import GaugeMetricFamily, Metric
from redis import Redis
from rq import Queue, Worker
from rq.job import Job
from rq.registry import FailedJobRegistry, StartedJobRegistry
from rq.utils import str_to_date

from services.core.clock import Clock
from services.worker.registry import ALL_QUEUES


def _oldest_age(queue: Queue, clock: Clock) -> float:
    # RQ appends to the right and workers pop from the left: index 0 waited longest.
    job_id = queue.connection.lindex(queue.key, 0)
    if job_id is None:
        return 0.0
    job_id_text = job_id.decode() if isinstance(job_id, bytes) else str(job_id)
    enqueued = queue.connection.hget(Job.key_for(job_id_text), "enqueued_at")
    if not enqueued:
        return 0.0
    return max(0.0, (clock.now() - str_to_date(enqueued)).total_seconds())


def queue_metrics(connection: Redis, clock: Clock) -> list[Metric]:
    depth = GaugeMetricFamily(
        "fluxus_queue_depth",
        "Jobs waiting in the queue (Redis list rq:queue:<name>).",
        labels=["queue"],
    )
    oldest = GaugeMetricFamily(
        "fluxus_queue_oldest_job_age_seconds",
        "How long the job at the head of the queue has waited.",
        labels=["queue"],
    )
    started = GaugeMetricFamily(
        "fluxus_queue_started_jobs", "Jobs running now (started registry).", labels=["queue"]
    )
    failed = GaugeMetricFamily(
        "fluxus_queue_failed_jobs", "Jobs in the failed registry.", labels=["queue"]
    )
    workers = GaugeMetricFamily(
        "fluxus_queue_workers", "Live RQ workers listening on the queue.", labels=["queue"]
    )
    for name in ALL_QUEUES:
        queue = Queue(name, connection=connection)
        depth.add_metric([name], queue.count)
        oldest.add_metric([name], _oldest_age(queue, clock))
        started.add_metric([name], StartedJobRegistry(name, connection=connection).count)
        failed.add_metric([name], FailedJobRegistry(name, connection=connection).count)
        workers.add_metric([name], len(Worker.all(queue=queue)))
    return [depth, oldest, started, failed, workers]


def queue_build(connection: Redis, clock: Clock) -> Callable[[], list[Metric]]:
    """The queue part of the scheduler's collector."""
    return lambda: queue_metrics(connection, clock)
