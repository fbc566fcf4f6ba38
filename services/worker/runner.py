"""The RQ workers Fluxus runs (inline by default, forking on request): a tunable abandoned-job
grace, job metrics and request ids."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import SimpleWorker, Worker
from rq.executions import Execution
from rq.job import Job
from rq.queue import Queue
from rq.worker import BaseWorker, WorkerStatus

from services.core import metrics
from services.core.logging import request_id_var
from services.core.metrics_runtime import name_this_process
from services.worker.registry import JOBS

DEFAULT_HEARTBEAT_GRACE = 60  # RQ's own margin after the last heartbeat
# Redis is away: wait 1, 2, 4 … seconds between tries, never more than this (RQ's dequeue
# waits up to 60 s, so a worker came back up to a minute after Redis did).
REDIS_RETRY_MAX_SECONDS = 10.0
REDIS_GONE = (RedisConnectionError, RedisTimeoutError)
ACTIVATED = "completed"  # payment_processing.Outcome.COMPLETED: order paid, subscription on

log = logging.getLogger(__name__)
_JOB_NAMES = {job_spec.func: name for name, job_spec in JOBS.items()}


# Jobs whose return value is a bounded outcome (a string, or counts per outcome), and the
# metric it feeds.
OUTCOME_RECORDERS: dict[str, Callable[[Any, float], None]] = {
    "process_notification": metrics.observe_processing,
    "drain_notifications": lambda drained, _seconds: metrics.record_drain(drained),
    "renew_subscriptions": lambda counts, _seconds: metrics.record_renewals(counts),
    "reconcile_order": lambda outcome, _seconds: metrics.record_reconciliation(outcome),
}


def job_name(job: Job) -> str:
    """The registry name of a job (bounded), from the dotted path it was enqueued with."""
    return _JOB_NAMES.get(job.func_name or "", "other")


def _record_outcome(job: Job, name: str, seconds: float) -> None:
    try:
        outcome = job.return_value()
    except RedisError:
        return  # the job is done and recorded by RQ; a lost outcome sample is not worth more
    if not isinstance(outcome, str | dict):
        return
    OUTCOME_RECORDERS[name](outcome, seconds)
    if name == "process_notification" and outcome == ACTIVATED and job.created_at:
        # The job was created when the webhook stored the notification (retries keep it),
        # so this is the customer's wait from ECPay's callback to an active subscription.
        created = job.created_at
        created = created if created.tzinfo else created.replace(tzinfo=UTC)
        metrics.observe_callback_to_active(outcome, (datetime.now(UTC) - created).total_seconds())


class PromptUnsubscribeMixin:
    """RQ's teardown stops its pub/sub thread with redis-py's stop(), which joins without a
    bound. When the thread has already read the UNSUBSCRIBE reply before the stop, it waits in
    get_message for a new subscription for RQ's whole 60 s sleep_time, and the worker's exit
    waits with it: about one burst worker in ten took 60 s to quit, and a pod's SIGTERM could
    cost a minute. The thread is a daemon with nothing left to do, so wait one second for it,
    then close its connection and go."""

    pubsub: Any
    pubsub_thread: Any

    def unsubscribe(self) -> None:
        if self.pubsub_thread:
            self.pubsub.unsubscribe()
            self.pubsub_thread.stop(timeout=1)
            self.pubsub.close()


class InstrumentedWorkerMixin:
    """Counts and times every job attempt and runs it under the request id it was enqueued
    with (queues.enqueue_now stores it in job.meta), so a payment's log lines, from the
    webhook to its job, share one id. Jobs enqueued without one log under their job id."""

    def perform_job(self, job: Job, queue: Queue, execution: Execution) -> bool:
        name = job_name(job)
        token = request_id_var.set((job.meta or {}).get("request_id") or job.id)
        metrics.JOBS_STARTED.labels(name, queue.name).inc()
        started = time.perf_counter()
        try:
            ok: bool = super().perform_job(job, queue, execution)  # type: ignore[misc]
        finally:
            request_id_var.reset(token)
        seconds = time.perf_counter() - started
        result = "finished" if ok else "failed"
        (metrics.JOBS_FINISHED if ok else metrics.JOBS_FAILED).labels(name, queue.name).inc()
        metrics.JOB_DURATION.labels(name, queue.name, result).observe(seconds)
        if ok and name in OUTCOME_RECORDERS:
            _record_outcome(job, name, seconds)
        return ok


class TimingMixin:
    """Running jobs count as abandoned `heartbeat_grace` seconds after the last heartbeat
    instead of RQ's fixed 60 (see services.worker.maintenance), and an idle worker wakes for
    maintenance every `maintenance_interval` seconds."""

    def __init__(self, *args: Any, heartbeat_grace: int = DEFAULT_HEARTBEAT_GRACE, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.heartbeat_grace = heartbeat_grace

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        # BaseWorker's rule for both classes: the next heartbeat is due within the monitoring
        # interval (SimpleWorker's own rule assumes no heartbeat until the job ends).
        rq_ttl = BaseWorker.get_heartbeat_ttl(self, job, working_time)  # type: ignore[arg-type]
        return max(1, rq_ttl - DEFAULT_HEARTBEAT_GRACE + self.heartbeat_grace)

    @property
    def dequeue_timeout(self) -> int:
        # RQ blocks an idle worker in BLPOP for ~7 minutes and runs maintenance (which also
        # restarts its scheduler of delayed retries, dead after a Redis outage) only between
        # dequeues; wake up at least once per maintenance interval.
        rq_timeout = int(BaseWorker.dequeue_timeout.fget(self))  # type: ignore[attr-defined]
        return max(1, min(rq_timeout, int(self.maintenance_interval)))  # type: ignore[attr-defined]


class RedisOutageMixin:
    """The worker rides out a Redis outage and exits only when asked to stop.

    RQ retries a failed dequeue with a backoff, but every other Redis call of its work loop
    (recording a finished job's result and heartbeat, the suspension check, maintenance, the
    heartbeat between jobs) sits under a bare `except` that logs "found an unhandled
    exception, quitting" and ends the process. So a job that finished while Redis was away
    (even an idle-looking worker finishing an e-mail) took its worker down. Here those calls
    wait for Redis instead. A job whose outcome could not be recorded is left to RQ's
    abandoned-job handling (its heartbeat lapses) and to the sweeps; every job is idempotent.
    """

    max_connection_wait_time = REDIS_RETRY_MAX_SECONDS  # RQ's own dequeue backoff cap

    def _wait_for_redis(self, what: str, exc: Exception) -> None:
        """Ping with backoff until Redis answers or a stop is requested (the stop signal
        raises StopRequested out of the sleep when the worker is idle)."""
        log.warning("Redis unreachable while %s (%s); waiting for it", what, exc)
        wait = 1.0
        while not self._stop_requested:  # type: ignore[attr-defined]
            time.sleep(wait)
            try:
                self.connection.ping()  # type: ignore[attr-defined]
            except REDIS_GONE:
                wait = min(wait * 2, REDIS_RETRY_MAX_SECONDS)
                continue
            log.warning("Redis is back; the worker goes on")
            return

    def bootstrap(self, *args: Any, **kwargs: Any) -> None:
        while True:
            try:
                super().bootstrap(*args, **kwargs)  # type: ignore[misc]
                return
            except REDIS_GONE as exc:
                self._wait_for_redis("starting", exc)

    def execute_job(self, job: Job, queue: Queue) -> None:
        try:
            self._execute(job, queue)
        except REDIS_GONE as exc:
            self._after_lost_job(job)
            self._wait_for_redis(f"recording job {job.id}", exc)
            # If Redis is gone again, the next dequeue's heartbeat and backoff deal with it.
            with contextlib.suppress(*REDIS_GONE):
                self.set_state(WorkerStatus.IDLE)  # type: ignore[attr-defined]

    def _execute(self, job: Job, queue: Queue) -> None:
        super().execute_job(job, queue)  # type: ignore[misc]

    def _after_lost_job(self, job: Job) -> None:
        """Nothing to wait for in-process (the inline worker's job has returned)."""

    def check_for_suspension(self, burst: bool) -> None:
        while True:
            try:
                super().check_for_suspension(burst)  # type: ignore[misc]
                return
            except REDIS_GONE as exc:
                self._wait_for_redis("checking for suspension", exc)
                if self._stop_requested:  # type: ignore[attr-defined]
                    return

    def run_maintenance_tasks(self) -> None:
        try:
            super().run_maintenance_tasks()  # type: ignore[misc]
        except REDIS_GONE as exc:  # the next tick runs it again
            log.warning("maintenance skipped, Redis unreachable: %s", exc)

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        if pipeline is not None:  # queued on the caller's pipeline: its execute may fail
            super().heartbeat(timeout, pipeline)  # type: ignore[misc]
            return
        try:
            super().heartbeat(timeout)  # type: ignore[misc]
        except REDIS_GONE as exc:
            # Between jobs (RQ's loop would quit) or before a dequeue (whose own retry and
            # backoff follow): the worker key's TTL covers a missed beat.
            log.warning("worker heartbeat failed, Redis unreachable: %s", exc)

    def teardown(self) -> None:
        try:
            super().teardown()  # type: ignore[misc]
        except REDIS_GONE as exc:  # stopping anyway; the worker key expires on its own
            log.warning("could not record the worker's death, Redis unreachable: %s", exc)


class FluxusWorker(
    PromptUnsubscribeMixin, RedisOutageMixin, InstrumentedWorkerMixin, TimingMixin, Worker
):
    """`fluxus worker --fork`: a work horse forked per job, for isolation from whatever a job
    leaves behind — at the price of a new engine, connection and compiled SQL every job."""

    def main_work_horse(self, job: Job, queue: Queue) -> None:
        # One horse at a time per worker: they all write the same metric files, so a
        # worker's files stay two (its own and its horses') however many jobs it runs.
        name_this_process(f"horse-{os.getppid()}")
        super().main_work_horse(job, queue)

    def _after_lost_job(self, job: Job) -> None:
        # Watching the horse failed on Redis: let it finish before the next job, one at a time.
        if self.horse_pid:
            with contextlib.suppress(ChildProcessError):  # already reaped
                self.wait_for_horse()


class FluxusInlineWorker(
    PromptUnsubscribeMixin, RedisOutageMixin, InstrumentedWorkerMixin, TimingMixin, SimpleWorker
):
    """`fluxus worker` (the default): jobs run in the worker process, so its engine,
    connection pool and compiled-SQL cache serve every job (several times the throughput of
    forking, see bench/RESULTS.md). A thread heartbeats while a job runs, as the forking
    worker's monitor loop does, so a killed worker's job is still noticed `heartbeat_grace`
    seconds later; a job's timeout is enforced by SIGALRM in the main thread as before."""

    def _execute(self, job: Job, queue: Queue) -> None:
        execution = self.prepare_execution(job)
        done = threading.Event()
        beat = threading.Thread(
            target=self._heartbeat_until, args=(job, execution, done), daemon=True
        )
        beat.start()
        try:
            self.perform_job(job, queue, execution)
        finally:
            done.set()
            beat.join()
        self.set_state(WorkerStatus.IDLE)

    def _heartbeat_until(self, job: Job, execution: Execution, done: threading.Event) -> None:
        while not done.wait(self.job_monitoring_interval):
            try:
                self.maintain_heartbeats(job, execution)
            except RedisError as exc:  # the next beat may get through; RQ's TTL covers a gap
                log.warning("heartbeat for job %s failed: %s", job.id, exc)
