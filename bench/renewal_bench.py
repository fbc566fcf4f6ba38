"""Renewal figure: `fluxus renew` and the workers creating one renewal order per due
subscription, beside a plain bulk INSERT of as many order rows."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from bench import seed
from bench.config import BenchConfig
from bench.infra import Proc, Stack, pg_cursor, wait_until
from bench.memory import MemorySampler
from bench.pgfloor import bulk_insert_orders, design_writes
from bench.results import Figure, require_done


@dataclass(frozen=True)
class Phases:
    enqueue_seconds: float  # `fluxus renew` start → exit
    total_seconds: float  # `fluxus renew` start → the last order (or the bound)
    jobs_seconds: float  # workers' start → the last order (or the bound)
    orders: int  # renewal orders that exist at the end
    complete: bool


def _orders(dbname: str, plan_id: uuid.UUID) -> int:
    with pg_cursor(dbname) as cur:
        cur.execute("SELECT count(*) FROM orders WHERE plan_id = %s AND is_renewal", (plan_id,))
        return int(cur.fetchone()[0])


def _renew(stack: Stack, cfg: BenchConfig, sampler: MemorySampler) -> Proc:
    proc = stack.fluxus("renew", "renew", "--plan", seed.RENEWAL_SLUG,
                        "--batch-size", str(cfg.renewal_batch))
    sampler.watch("renew", proc.pid)
    return proc


def _wait_exit(proc: Proc, timeout: float) -> None:
    wait_until(lambda: proc.popen.poll() is not None, "fluxus renew to finish", timeout)
    if proc.popen.returncode != 0:
        raise RuntimeError(f"fluxus renew failed: {proc.log.read_text()[-2000:]}")


def _start_workers(stack: Stack, cfg: BenchConfig, sampler: MemorySampler) -> list[Proc]:
    workers = [stack.fluxus(f"worker-renewals-{i}", "worker", "--queues", "renewals")
               for i in range(cfg.rq_workers)]
    for worker in workers:
        sampler.watch("worker", worker.pid)
    return workers


def _drain(dbname: str, plan_id: uuid.UUID, want: int, bound: float) -> tuple[int, bool]:
    try:
        wait_until(lambda: _orders(dbname, plan_id) >= want, "every renewal order", bound)
    except TimeoutError:
        return _orders(dbname, plan_id), False
    return want, True


def run(stack: Stack, cfg: BenchConfig, dbname: str, plan_id: uuid.UUID,
        sampler: MemorySampler, *, separate: bool) -> list[Figure]:
    with pg_cursor(dbname) as cur:
        seed.add_due_subscriptions(cur, plan_id, cfg.renewals, datetime.now(UTC))
    floor_rows, floor_seconds = bulk_insert_orders(dbname, str(plan_id))
    assert floor_rows == cfg.renewals, floor_rows
    design_rows, design_seconds = design_writes(dbname, str(plan_id))
    assert design_rows == cfg.renewals, design_rows
    if separate:
        phases = _separate(stack, cfg, dbname, plan_id, sampler)
    else:
        phases = _together(stack, cfg, dbname, plan_id, sampler)
    # A figure over orders that were never made would be a rate of failures.
    require_done("renewal", "renewal orders created for the due subscriptions", phases.orders,
                 cfg.renewals)
    return _figures(cfg, phases, floor_rows / floor_seconds, separate,
                    design_rows / design_seconds)


def _together(stack: Stack, cfg: BenchConfig, dbname: str, plan_id: uuid.UUID,
              sampler: MemorySampler) -> Phases:
    """End to end: workers already draining while `fluxus renew` enqueues."""
    workers = _start_workers(stack, cfg, sampler)
    started = time.monotonic()
    renew = _renew(stack, cfg, sampler)
    _wait_exit(renew, cfg.drain_seconds)
    enqueued = time.monotonic() - started
    orders, complete = _drain(dbname, plan_id, cfg.renewals, cfg.renewal_drain_seconds)
    total = time.monotonic() - started
    for worker in workers:
        stack.stop(worker)
    return Phases(enqueued, total, total, orders, complete)


def _separate(stack: Stack, cfg: BenchConfig, dbname: str, plan_id: uuid.UUID,
              sampler: MemorySampler) -> Phases:
    """Enqueue every job first, then time the workers draining the queue."""
    started = time.monotonic()
    _wait_exit(_renew(stack, cfg, sampler), cfg.drain_seconds)
    enqueued = time.monotonic() - started
    jobs_started = time.monotonic()
    workers = _start_workers(stack, cfg, sampler)
    orders, complete = _drain(dbname, plan_id, cfg.renewals, cfg.renewal_drain_seconds)
    jobs = time.monotonic() - jobs_started
    for worker in workers:
        stack.stop(worker)
    return Phases(enqueued, enqueued + jobs, jobs, orders, complete)


def _figures(cfg: BenchConfig, p: Phases, floor_rate: float, separate: bool,
             design_rate: float) -> list[Figure]:
    floor = f"bulk INSERT … SELECT of {cfg.renewals} order rows"
    partial = "" if p.complete else f" (bound hit: {p.orders} of {cfg.renewals} orders)"
    mode = "enqueue, then workers drain" if separate else "workers draining during renew"
    return [
        Figure("renewal", f"renew: find and enqueue {cfg.renewals} due", cfg.renewals /
               p.enqueue_seconds, "rows/s", floor_rate, floor,
               f"{p.enqueue_seconds:.1f}s for fluxus renew to exit, one job per "
               f"{cfg.renewal_batch} subscriptions"),
        Figure("renewal", f"jobs: create {p.orders} renewal orders", p.orders / p.jobs_seconds,
               "rows/s", floor_rate, floor, f"{p.jobs_seconds:.1f}s, {cfg.rq_workers} workers"
               f"{partial}"),
        Figure("renewal", f"end to end, {cfg.renewals} due → orders", p.orders /
               p.total_seconds, "rows/s", floor_rate, floor,
               f"{p.total_seconds:.1f}s ({mode}){partial}"),
        # The same run beside what the design must write per renewal (order with its foreign
        # keys, audit row, e-mail row) in plain SQL: how much of the gap is the design's.
        Figure("renewal", f"end to end, {cfg.renewals} due → orders", p.orders /
               p.total_seconds, "rows/s", design_rate,
               "INSERT … SELECT of the order, audit and e-mail rows (with foreign keys)",
               f"{p.total_seconds:.1f}s ({mode}){partial}"),
    ]
