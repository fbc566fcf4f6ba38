"""API figures: GET /api/plans/, GET /api/subscriptions/ and POST /api/orders/ beside a bare
Flask endpoint served by the same gunicorn (same worker count and class)."""

from __future__ import annotations

import json
import sys
import uuid
from dataclasses import replace
from pathlib import Path

import httpx

from bench import seed
from bench.config import BenchConfig
from bench.infra import Stack, free_port, pg_cursor
from bench.loadgen import Load, LoadResult, run_load
from bench.memory import MemorySampler
from bench.results import Figure, require_none

PASSWORD = "Blue-Mango-2026!"  # noqa: S105 - a throwaway customer of a throwaway database
WARM_REQUESTS = 200


def _customer(api: str) -> tuple[str, str]:
    """Register and log in a customer through the API; returns (username, access token)."""
    username = f"bench{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=api, timeout=30) as http:
        body = {"username": username, "email": f"{username}@bench.example.tw",
                "password": PASSWORD}
        http.post("/api/auth/register/", json=body).raise_for_status()
        login = http.post("/api/auth/login/", json={"username": username, "password": PASSWORD})
        login.raise_for_status()
        return username, str(login.json()["access"])


def _user_id(dbname: str, username: str) -> uuid.UUID:
    with pg_cursor(dbname) as cur:
        cur.execute("SELECT id FROM users WHERE username = %s", (username,))
        return uuid.UUID(str(cur.fetchone()[0]))


def _seed_subscriptions(dbname: str, plan_id: uuid.UUID, user: uuid.UUID, n: int) -> list[str]:
    with pg_cursor(dbname) as cur:
        return seed.add_pending_subscriptions(cur, plan_id, user, n)


def _figures(name: str, result: LoadResult, floor: LoadResult,
             io_floor: LoadResult) -> list[Figure]:
    floor_name = "bare Flask GET /floor/"
    note = f"{result.requests} requests by {result.tool}, {result.wrong} unexpected statuses"
    return [
        Figure("api", f"{name} throughput", result.rps, "req/s", floor.rps, floor_name, note),
        Figure("api", f"{name} throughput, against the I/O floor", result.rps, "req/s",
               io_floor.rps, "Flask + one Redis script + one SQL read"),
        Figure("api", f"{name} p50", result.p50_ms, "ms", floor.p50_ms, floor_name),
        Figure("api", f"{name} p99", result.p99_ms, "ms", floor.p99_ms, floor_name),
    ]


def run(stack: Stack, cfg: BenchConfig, dbname: str, plan_id: uuid.UUID,
        sampler: MemorySampler) -> list[Figure]:
    workers = str(cfg.api_workers)
    port, floor_port = free_port(), free_port()
    api = stack.fluxus("api", "api", "--bind", f"127.0.0.1:{port}", "--workers", workers,
                       port=port)
    sampler.watch("api", api.pid)
    floor_proc = stack.start("floor", [sys.executable, "-m", "gunicorn", "--workers", workers,
                                       "--worker-class", "sync", "--bind",
                                       f"127.0.0.1:{floor_port}", "bench.floor_app:app"],
                             port=floor_port)
    sampler.watch("floor (bare Flask)", floor_proc.pid)
    api_url, floor_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{floor_port}"
    reader_name, reader_token = _customer(api_url)
    buyer_name, buyer_token = _customer(api_url)
    # The reader has two subscriptions, as a customer would; the buyer one pending
    # subscription per order, so no POST waits on another's row lock.
    _seed_subscriptions(dbname, plan_id, _user_id(dbname, reader_name), 2)
    orderable = _seed_subscriptions(dbname, plan_id, _user_id(dbname, buyer_name),
                                    cfg.order_subscriptions + WARM_REQUESTS)
    loads = _loads(api_url, floor_url, reader_token, buyer_token, orderable)
    results = measure(loads, cfg, stack.workdir)
    stack.stop(floor_proc)
    stack.stop(api)
    floor, io_floor = results.pop("floor"), results.pop("floor with I/O")
    require_none("api", "unexpected statuses from the floors", floor.wrong + io_floor.wrong)
    figures = [
        Figure("api", "bare Flask GET /floor/ throughput", floor.rps, "req/s",
               note=f"{floor.requests} requests by {floor.tool}"),
        Figure("api", "Flask + one Redis script + one SQL read, throughput", io_floor.rps,
               "req/s", floor.rps, "bare Flask GET /floor/",
               f"{io_floor.requests} requests; the I/O every limited read pays in this "
               "design, with no ORM, schema or auth (bench/floor_app.py /floor/io/)"),
    ]
    for name, result in results.items():
        require_none("api", f"unexpected statuses from {name}", result.wrong)
        figures += _figures(name, result, floor, io_floor)
    return figures


def _loads(api_url: str, floor_url: str, reader_token: str, buyer_token: str,
           subscription_ids: list[str]) -> dict[str, Load]:
    json_type = {"Content-Type": "application/json"}
    bodies = [json.dumps({"subscription_id": sid, "payment_method": "atm"})
              for sid in subscription_ids]
    return {
        "floor": Load(floor_url, "GET", "/floor/", 200, {}),
        "floor with I/O": Load(floor_url, "GET", "/floor/io/", 200, {}),
        "GET /api/plans/": Load(api_url, "GET", "/api/plans/", 200, {}),
        "GET /api/subscriptions/": Load(api_url, "GET", "/api/subscriptions/", 200,
                                        {"Authorization": f"Bearer {reader_token}"}),
        "POST /api/orders/": Load(api_url, "POST", "/api/orders/", 201,
                                  {"Authorization": f"Bearer {buyer_token}", **json_type},
                                  bodies=bodies, key_header="Idempotency-Key"),
    }


def measure(loads: dict[str, Load], cfg: BenchConfig, workdir: Path) -> dict[str, LoadResult]:
    results: dict[str, LoadResult] = {}
    for label, load in loads.items():
        # A short warm-up per endpoint, so imports and first connections are not measured;
        # it orders the last subscriptions, the measured run the others.
        warm, main, limit = load, load, cfg.api_max_requests
        if load.bodies:
            warm = replace(load, bodies=load.bodies[-WARM_REQUESTS:])
            main = replace(load, bodies=load.bodies[:-WARM_REQUESTS])
            limit = len(main.bodies or ())
        run_load(warm, connections=cfg.connections, max_requests=WARM_REQUESTS, max_seconds=2,
                 workdir=workdir, label=f"warm{len(results)}")
        results[label] = run_load(main, connections=cfg.connections, max_requests=limit,
                                  max_seconds=cfg.api_seconds, workdir=workdir,
                                  label=f"load{len(results)}")
    return results
