"""Webhook figures: signed ECPay notifications accepted per second by the payment service, and
notification-to-active-subscription latency with workers running, beside pgbench's inserts."""

from __future__ import annotations

import contextlib
import time
import uuid
from dataclasses import dataclass
from functools import partial

import httpx

from bench import seed
from bench.config import BenchConfig
from bench.infra import Proc, Stack, free_port, pg_cursor, wait_until
from bench.loadgen import Load, LoadResult, run_load
from bench.memory import MemorySampler
from bench.pgfloor import TPCB_SCALE, PgbenchResult, insert_rate, tpcb_rate
from bench.results import Figure, require_done, require_none
from services.ecpay.credentials import EcpayCredentials

CALLBACK = "/payment/ecpay/callback/"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
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


def _drain(dbname: str, numbers: list[str], bound: float) -> float:
    """Wait (at most `bound` seconds) until every accepted one of `numbers` is processed."""
    started = time.monotonic()
    # On timeout the figures say how many were processed within the bound.
    with contextlib.suppress(TimeoutError):
        wait_until(lambda: (p := _processed(dbname, numbers)).processed >= p.accepted,
                   "the workers to process every accepted notification", bound)
    return time.monotonic() - started


def _is_processed(dbname: str, number: str) -> bool:
    return _processed(dbname, [number]).processed == 1


def _one_at_a_time(url: str, bodies: list[str], numbers: list[str], dbname: str) -> Processed:
    """Each notification posted only once the previous one is processed: the latency of a
    notification that finds the queue empty."""
    with httpx.Client(timeout=30) as http:
        for body, number in zip(bodies, numbers, strict=True):
            answer = http.post(url + CALLBACK, content=body, headers=FORM)
            if answer.text != "1|OK":
                raise RuntimeError(f"notification for {number} refused: {answer.text}")
            wait_until(partial(_is_processed, dbname, number),
                       f"notification {number} to be processed", 60)
    return _processed(dbname, numbers)


def _start(stack: Stack, cfg: BenchConfig, sampler: MemorySampler) -> tuple[str, list[Proc]]:
    port = free_port()
    payment = stack.fluxus("payment", "payment", "--bind", f"127.0.0.1:{port}",
                           "--workers", str(cfg.api_workers), port=port)
    sampler.watch("payment", payment.pid)
    workers = [stack.fluxus(f"worker-payments-{i}", "worker", "--queues", "payments")
               for i in range(cfg.rq_workers)]
    for worker in workers:
        sampler.watch("worker", worker.pid)
    return f"http://127.0.0.1:{port}", [payment, *workers]


def run(stack: Stack, cfg: BenchConfig, dbname: str, plan_id: uuid.UUID,
        sampler: MemorySampler) -> list[Figure]:
    n, trickle = cfg.notifications, cfg.one_at_a_time
    with pg_cursor(dbname) as cur:
        numbers = seed.add_paying_orders(cur, plan_id, n + WARM + trickle)
    bodies = seed.notification_bodies(numbers, EcpayCredentials.stage())
    floor = insert_rate(dbname, clients=cfg.connections, seconds=min(cfg.webhook_seconds, 20),
                        workdir=stack.workdir)
    tpcb = tpcb_rate(dbname, clients=cfg.connections, seconds=min(cfg.webhook_seconds, 20),
                     workdir=stack.workdir)
    url, procs = _start(stack, cfg, sampler)
    warm = Load(url, "POST", CALLBACK, 200, FORM, bodies=bodies[n:n + WARM])
    run_load(warm, connections=4, max_requests=WARM, max_seconds=5, workdir=stack.workdir,
             label="webhook-warm")
    _drain(dbname, numbers[n:n + WARM], cfg.drain_seconds)
    load = Load(url, "POST", CALLBACK, 200, FORM, bodies=bodies[:n])
    result = run_load(load, connections=cfg.connections, max_requests=n,
                      max_seconds=cfg.webhook_seconds, workdir=stack.workdir, label="webhook")
    drain = _drain(dbname, numbers[:n], cfg.drain_seconds)
    done = _processed(dbname, numbers[:n])
    single = _one_at_a_time(url, bodies[n + WARM:], numbers[n + WARM:], dbname)
    for proc in procs:
        stack.stop(proc)
    _require_all(result, done, single, n, trickle)
    return _figures(result, floor, tpcb, done, drain, single)


def _require_all(result: LoadResult, done: Processed, single: Processed, n: int,
                 trickle: int) -> None:
    """Every posted notification accepted, processed and its subscription active."""
    require_none("webhook", "callbacks not answered 1|OK", result.wrong)
    require_done("webhook", "notifications accepted", done.accepted, n)
    require_done("webhook", "accepted notifications processed", done.processed, done.accepted)
    require_done("webhook", "subscriptions active after their payment", done.active, n)
    require_done("webhook", "one-at-a-time notifications processed", single.processed, trickle)


def _figures(result: LoadResult, floor: PgbenchResult, tpcb: PgbenchResult, done: Processed,
             drain: float, single: Processed) -> list[Figure]:
    pg = f"pgbench INSERT notification-like row, {floor.clients} clients"
    pg_lat = f"pgbench INSERT latency, {floor.clients} clients"
    note = (f"{result.requests} posts by {result.tool}; {done.accepted} accepted, "
            f"{result.wrong} not 1|OK, {done.active} subscriptions active")
    return [
        Figure("webhook", "notifications accepted", done.accepted / result.seconds, "/s",
               floor.tps, pg, note),
        Figure("webhook", "callback answer p50", result.p50_ms, "ms", floor.p50_ms, pg_lat),
        Figure("webhook", "callback answer p99", result.p99_ms, "ms", floor.p99_ms, pg_lat),
        Figure("webhook", "notification → active p50, under the load", done.p50_ms, "ms",
               floor.p50_ms, pg_lat, "received_at → processed_at; includes the wait behind "
               "the backlog the load built up"),
        Figure("webhook", "notification → active p99, under the load", done.p99_ms, "ms",
               floor.p99_ms, pg_lat),
        Figure("webhook", "notification → active p50, one at a time", single.p50_ms, "ms",
               floor.p50_ms, pg_lat, f"{single.processed} notifications, each posted after "
               "the previous one was processed (an empty queue)"),
        Figure("webhook", "notification → active p99, one at a time", single.p99_ms, "ms",
               floor.p99_ms, pg_lat),
        Figure("webhook", "processed end to end", done.processed / done.seconds
               if done.seconds else 0.0, "/s", floor.tps, pg,
               f"{done.processed} of {done.accepted} processed; first received → last "
               f"processed {done.seconds:.1f}s; drained {drain:.1f}s after the load"),
        Figure("webhook", "processed end to end, against TPC-B", done.processed / done.seconds
               if done.seconds else 0.0, "/s", tpcb.tps,
               f"pgbench TPC-B-like tps, {tpcb.clients} clients, scale {TPCB_SCALE}",
               "the goal is 0.1 of this; a TPC-B transaction is five statements, a payment's "
               "is all of its order, invoice, e-invoice, audit, e-mail, event and MRR rows"),
    ]
