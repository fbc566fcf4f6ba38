"""`fluxus worker`, `fluxus scheduler`, `fluxus renew` and `fluxus jobs`."""

from __future__ import annotations

import gc
import importlib
import sys
from datetime import timedelta

import click
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from services.core.clock import Clock, FixedClock, SystemClock, parse_instant
from services.core.config import Settings, get_settings
from services.core.db.session import configure_orm, get_engine, session_scope
from services.core.errors import FluxusError, NotFound
from services.core.logging import configure_logging
from services.core.metrics_business import CachedCollector, business_build
from services.core.metrics_runtime import enable_multiprocess, start_metrics_server
from services.core.usecases import renewals
from services.worker.maintenance import failed_jobs, requeue_failed
from services.worker.metrics_queues import queue_build
from services.worker.queues import enqueue_now, queue, redis_connection
from services.worker.registry import ALL_QUEUES, job_modules
from services.worker.runner import DEFAULT_HEARTBEAT_GRACE, FluxusInlineWorker, FluxusWorker
from services.worker.schedule import register_periodic, scheduler_for


def _queue_names(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in ALL_QUEUES]
    if unknown or not names:
        raise click.BadParameter(f"choose from {', '.join(ALL_QUEUES)}", param_hint="--queues")
    return names


@click.command("worker")
@click.option("--queues", default=",".join(ALL_QUEUES), show_default=True, help="a,b,c")
@click.option("--burst", is_flag=True, help="work until the queues are empty, then exit")
@click.option(
    "--with-scheduler/--without-scheduler",
    default=True,
    show_default=True,
    help="RQ's scheduler for delayed retries",
)
@click.option(
    "--heartbeat-grace",
    type=click.IntRange(min=1),
    default=DEFAULT_HEARTBEAT_GRACE,
    show_default=True,
    help="seconds after a missed heartbeat a job counts as abandoned",
)
@click.option(
    "--monitoring-interval",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="seconds between heartbeats while a job runs",
)
@click.option(
    "--maintenance-interval",
    type=click.IntRange(min=1),
    default=60,
    show_default=True,
    help="seconds between RQ's maintenance ticks: registry cleanup, and restarting the "
    "scheduler of delayed retries if it died (RQ's default is 600)",
)
@click.option(
    "--fork",
    is_flag=True,
    help="run each job in a forked work horse (isolation; far slower: no engine, pool or "
    "compiled SQL survives a job)",
)
def worker(
    queues: str,
    burst: bool,
    with_scheduler: bool,
    heartbeat_grace: int,
    monitoring_interval: int,
    maintenance_interval: int,
    fork: bool,
) -> None:
    """Run an RQ worker on QUEUES (payments, invoices, email, renewals, maintenance)."""
    settings = get_settings()
    configure_logging(settings.log_level)
    # Before any metric is touched and before RQ forks any work horse.
    enable_multiprocess("worker")
    if not burst:  # a burst run ends before anyone could scrape it; its port stays free
        start_metrics_server(settings.metrics_port)
    names = _queue_names(queues)
    # RQ's scheduler child (and, with --fork, every work horse) is forked from this process:
    # import the jobs' code first so they share its pages rather than each importing its
    # own, and keep the collector from writing to (and so copying) them.
    for module in job_modules(names):
        importlib.import_module(module)
    configure_orm()
    gc.freeze()
    connection = redis_connection(settings)
    worker_class = FluxusWorker if fork else FluxusInlineWorker
    rq_worker = worker_class(
        [queue(name, connection) for name in names],
        connection=connection,
        heartbeat_grace=heartbeat_grace,
        job_monitoring_interval=monitoring_interval,
        maintenance_interval=maintenance_interval,
    )
    rq_worker.work(burst=burst, with_scheduler=with_scheduler, logging_level=settings.log_level)


def scrape_time_collector(
    settings: Settings, connection: Redis, clock: Clock | None = None, ttl: float = 30.0
) -> CachedCollector:
    """Business gauges from PostgreSQL and queue gauges from Redis, rebuilt at most every
    `ttl` seconds however often Prometheus scrapes."""
    clock = clock or SystemClock()
    return CachedCollector(
        {
            "business": business_build(get_engine(settings), clock),
            "queues": queue_build(connection, clock),
        },
        ttl,
    )


@click.command("scheduler")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    help="seconds between looks for due periodic jobs",
)
@click.option("--burst", is_flag=True, help="register, enqueue what is due once, and exit")
@click.option(
    "--metrics-ttl",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="seconds the business and queue gauges are cached between scrapes",
)
def scheduler(interval: float, burst: bool, metrics_ttl: float) -> None:
    """Run rq-scheduler with Fluxus's periodic jobs (registered idempotently)."""
    settings = get_settings()
    configure_logging(settings.log_level)
    connection = redis_connection(settings)
    if not burst:
        # The only process serving the business and queue gauges: replicas never repeat them.
        start_metrics_server(
            settings.metrics_port, [scrape_time_collector(settings, connection, ttl=metrics_ttl)]
        )
    rq_scheduler = scheduler_for(connection, interval)
    for job_id in register_periodic(rq_scheduler):
        click.echo(f"scheduled {job_id}")
    rq_scheduler.run(burst=burst)


def renew_plan(
    settings: Settings, clock: Clock, slug: str, *, batch_size: int, lead: timedelta
) -> tuple[int, int]:
    """Enqueue the plan's due renewals, one `renew_subscriptions` job per batch; returns
    (renewals, batches)."""
    connection = redis_connection(settings)
    after, total, batches = None, 0, 0
    while True:
        with session_scope(get_engine(settings)) as session:
            plan = renewals.plan_by_slug(session, slug)
            batch = renewals.due_batch(
                session, clock, plan_id=plan.id, after=after, limit=batch_size, lead=lead
            )
            # Enqueued while the rows are still locked, so a concurrent renewer skips them;
            # the job needs nothing this transaction writes.
            if batch:
                enqueue_now(
                    connection,
                    "renew_subscriptions",
                    [due.as_job_arg() for due in batch],
                    job_id=renewals.batch_job_id(batch),
                )
        if not batch:
            return total, batches
        total, batches, after = total + len(batch), batches + 1, batch[-1].subscription_id
        click.echo(f"batch {batches}: enqueued {len(batch)} renewals ({total} so far)")
        if len(batch) < batch_size:
            return total, batches


@click.command("renew")
@click.option("--plan", "slug", required=True, help="the plan's slug")
@click.option("--now", "now_text", default=None, help="ISO-8601 instant to renew as of")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1, max=5000),
    default=500,
    show_default=True,
    help="due subscriptions per renewal job",
)
@click.option(
    "--lead-hours",
    type=click.IntRange(min=0),
    show_default=True,
    default=int(renewals.RENEWAL_LEAD.total_seconds() // 3600),
    help="renew subscriptions whose period ends within this many hours",
)
def renew(slug: str, now_text: str | None, batch_size: int, lead_hours: int) -> None:
    """Enqueue the due renewals of one plan (what the plan's CronJob runs)."""
    settings = get_settings()
    configure_logging(settings.log_level)
    try:
        clock: Clock = FixedClock(parse_instant(now_text)) if now_text else SystemClock()
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--now") from exc
    try:
        total, batches = renew_plan(
            settings, clock, slug, batch_size=batch_size, lead=timedelta(hours=lead_hours)
        )
    except NotFound as exc:
        click.echo(f"renew {slug}: {exc.message}", err=True)
        sys.exit(2)
    except (FluxusError, RedisError, SQLAlchemyError) as exc:
        click.echo(f"renew {slug}: failed: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    click.echo(
        f"renew {slug}: {total} renewals enqueued in {batches} batches "
        f"(as of {clock.now().isoformat()})"
    )


@click.group("jobs")
def jobs() -> None:
    """Inspect and retry background jobs."""


@jobs.command("failed")
def list_failed() -> None:
    """List failed jobs with their error."""
    found = failed_jobs(redis_connection(get_settings()))
    for job in found:
        ended = job.ended_at.isoformat() if job.ended_at else "-"
        args = ", ".join(repr(arg) for arg in job.args)
        click.echo(f"{job.id}\t{job.queue}\t{job.func}({args})\t{ended}\t{job.error}")
    click.echo(f"{len(found)} failed jobs", err=True)


@jobs.command("requeue")
@click.argument("job_id", required=False)
@click.option("--all", "every", is_flag=True, help="requeue every failed job")
def requeue(job_id: str | None, every: bool) -> None:
    """Put a failed job (ID) or all of them (--all) back on their queues."""
    if bool(job_id) == every:
        raise click.UsageError("give a job ID or --all")
    done = requeue_failed(redis_connection(get_settings()), None if every else job_id)
    if job_id and not done:
        click.echo(f"no failed job {job_id}", err=True)
        sys.exit(1)
    for requeued in done:
        click.echo(f"requeued {requeued}")
