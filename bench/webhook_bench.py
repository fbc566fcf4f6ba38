"""Webhook figures: signed ECPay notifications accepted per second by the payment service, and
notification-to-active-subscription latency with workers running, beside pgbench's inserts."""

from __future__ import annotations

import contextlib
import time
import uuid
from dataclasses import dataclass

from bench import seed
from bench.config import BenchConfig
from bench.infra import Stack, free_port, pg_cursor, wait_until
from bench.loadgen import Load, LoadResult, run_load
from bench.memory import MemorySampler
from bench.pgfloor import PgbenchResult, insert_rate
from bench.results import Figure
from services.ecpay.credentials import EcpayCredentials

CALLBACK = "/payment/ecpay/callback/"
WARM = 50


@dataclass(frozen=True)
class Processed:
    accepted: int
    processed: int
    active: int
    p50_ms: float
    p99_ms: float
    seconds: float  # first received → last processed


def _processed(dbname: str, numbers: list[str]) -> Processed:
    with pg_cursor(dbname) as cur:
        cur.execute(
            """SELECT count(*),
                      count(n.processed_at),
                      count(*) FILTER (WHERE s.status = 'active'),
                      percentile_cont(0.5) WITHIN GROUP (ORDER BY
                          extract(epoch FROM n.processed_at - n.received_at)),
                      percentile_cont(0.99) WITHIN GROUP (ORDER BY
                          extract(epoch FROM n.processed_at - n.received_at)),
                      extract(epoch FROM max(n.processed_at) - min(n.received_at))
               FROM payment_notifications n
               JOIN orders o ON o.id = n.order_id
               JOIN subscriptions s ON s.id = o.subscription_id
               WHERE n.verdict = 'accepted' AND n.merchant_trade_no = ANY(%s)""",
            (numbers,),
        )
        row = cur.fetchone()
    return Processed(row[0], row[1], row[2], float(row[3] or 0) * 1e3,
                     float(row[4] or 0) * 1e3, float(row[5] or 0))


def run(stack: Stack, cfg: BenchConfig, dbname: str, plan_id: uuid.UUID,
        sampler: MemorySampler) -> list[Figure]:
    with pg_cursor(dbname) as cur:
        numbers = seed.add_paying_orders(cur, plan_id, cfg.notifications + WARM)
    bodies = seed.notification_bodies(numbers, EcpayCredentials.stage())
    floor = insert_rate(dbname, clients=cfg.connections, seconds=min(cfg.webhook_seconds, 20),
                        workdir=stack.workdir)
    port = free_port()
    payment = stack.fluxus("payment", "payment", "--bind", f"127.0.0.1:{port}",
                           "--workers", str(cfg.api_workers), port=port)
    sampler.watch("payment", payment.pid)
    workers = [stack.fluxus(f"worker-payments-{i}", "worker", "--queues", "payments")
               for i in range(cfg.rq_workers)]
    for worker in workers:
        sampler.watch("worker", worker.pid)
    load = Load(f"http://127.0.0.1:{port}", "POST", CALLBACK, 200,
                {"Content-Type": "application/x-www-form-urlencoded"}, bodies=bodies[:-WARM])
    warm = Load(load.url, load.method, load.path, 200, load.headers, bodies=bodies[-WARM:])
    run_load(warm, connections=4, max_requests=WARM, max_seconds=5, workdir=stack.workdir,
             label="webhook-warm")
    result = run_load(load, connections=cfg.connections, max_requests=cfg.notifications,
                      max_seconds=cfg.webhook_seconds, workdir=stack.workdir, label="webhook")
    measured = numbers[:-WARM]
    started = time.monotonic()
    # On timeout the figures say how many were processed within the bound.
    with contextlib.suppress(TimeoutError):
        wait_until(lambda: (p := _processed(dbname, measured)).processed >= p.accepted,
                   "the workers to process every accepted notification", cfg.drain_seconds)
    drain = time.monotonic() - started
    done = _processed(dbname, measured)
    for worker in workers:
        stack.stop(worker)
    stack.stop(payment)
    return _figures(result, floor, done, drain)


def _figures(result: LoadResult, floor: PgbenchResult, done: Processed,
             drain: float) -> list[Figure]:
    pg = f"pgbench INSERT notification-like row, {floor.clients} clients"
    pg_lat = f"pgbench INSERT latency, {floor.clients} clients"
    note = (f"{result.requests} posts by {result.tool}; {done.accepted} accepted, "
            f"{result.wrong} not 1|OK, {done.active} subscriptions active")
    return [
        Figure("webhook", "notifications accepted", done.accepted / result.seconds, "/s",
               floor.tps, pg, note),
        Figure("webhook", "callback answer p50", result.p50_ms, "ms", floor.p50_ms, pg_lat),
        Figure("webhook", "callback answer p99", result.p99_ms, "ms", floor.p99_ms, pg_lat),
        Figure("webhook", "notification → active p50", done.p50_ms, "ms", floor.p50_ms, pg_lat,
               "received_at → processed_at, workers running during the load"),
        Figure("webhook", "notification → active p99", done.p99_ms, "ms", floor.p99_ms, pg_lat),
        Figure("webhook", "processed end to end", done.processed / done.seconds
               if done.seconds else 0.0, "/s", floor.tps, pg,
               f"{done.processed} of {done.accepted} processed; first received → last "
               f"processed {done.seconds:.1f}s; drained {drain:.1f}s after the load"),
    ]
