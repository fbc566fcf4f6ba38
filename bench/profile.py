"""`python bench/profile.py [target …]`: py-spy profiles behind the poor figures of run.py.

Each target serves one Fluxus process on a fresh database and private Redis, loads it, samples
it with py-spy (`pip install py-spy`) and prints where the sampled time went, by component.
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `bench` and `services` importable
    sys.path.insert(0, str(ROOT))

from bench import api_bench, seed  # noqa: E402
from bench.infra import Proc, Stack, free_port, fresh_bed, pg_cursor  # noqa: E402
from bench.loadgen import Load, run_load  # noqa: E402
from bench.memory import _children_map, tree  # noqa: E402
from services.ecpay.credentials import EcpayCredentials  # noqa: E402

# Component → a substring of the sampled stack that marks time spent in it.
COMPONENTS = {
    "SQL statements (round trips)": "do_execute (",
    "SQL compilation": "_compiler_dispatch",
    "pool pre-ping (SELECT 1)": "do_ping (",
    "COMMIT": "do_commit (",
    "new engine in the process": "create_engine (",
    "new PostgreSQL connection": "connect (psycopg2",
    "imports": "_find_and_load",
    "rate limiter (Redis)": "flask_limiter",
    "JWT revocation check": "verify_token_not_blocklisted",
    "JWT user lookup": "user_lookup (",
    "CheckMacValue": "checkmac",
    "enqueue to Redis": "RQJobs.flush",
    "e-mails recorded by the job": "queue_emails (",
    "renewal: order rows built (periods, numbers)": "_order_values (",
    "renewal: orders inserted": "_insert_orders (",
    "renewal: audit rows inserted": "_audit_created (",
    "RQ job objects built and pickled": "create_job (",
    "gunicorn closing the connection": "close_graceful (",
    "JSON logging": "logging/__init__",
    "renew's due_batch query": "due_batch (",
    "enqueue: job-id check (EXISTS)": "_exists (",
    "enqueue: RQ Queue.enqueue": "Queue.enqueue (",
    "enqueue: RQ enqueue_many (pipeline)": "enqueue_many (",
    "payment: complete (order, subscription, invoice)": "complete_payment (",
    "payment: invoice number (row lock)": "allocate_invoice_number (",
}
SECONDS = 12


TOP = 0  # --top N: also the N frames that hold the most samples, inclusive and self


def summarize(path: Path, within: str) -> None:
    """Share of the samples under `within` that fall in each component (components nest,
    e.g. the job-id check is part of the enqueue, so shares may add up past 100 %)."""
    total, shares = 0, collections.Counter[str]()
    inclusive, own = collections.Counter[str](), collections.Counter[str]()
    for line in path.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if within not in stack:
            continue
        total += int(samples)
        for name, marker in COMPONENTS.items():
            if marker in stack:
                shares[name] += int(samples)
        frames = stack[stack.index(within):].split(";")
        for frame in set(frames[1:]):
            inclusive[frame] += int(samples)
        own[frames[-1]] += int(samples)
    print(f"  {total} samples inside {within}")
    for name, count in shares.most_common():
        print(f"  {100 * count / max(total, 1):5.1f}%  {name}")
    for title, counts in (("inclusive", inclusive), ("self", own)):
        if TOP:
            print(f"  top {TOP} frames, {title}:")
        for frame, count in counts.most_common(TOP):
            print(f"  {100 * count / max(total, 1):5.1f}%  {frame[:150]}")


def _spy(pid: int, out: Path, subprocesses: bool = False) -> subprocess.Popen[bytes]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    argv = [spy, "record", "-p", str(pid), "-d", str(SECONDS), "-r", "200", "-f", "raw",
            "-o", str(out), *(["--subprocesses"] if subprocesses else [])]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _one_worker(proc: Proc) -> int:
    return next(pid for pid in tree(proc.pid, _children_map()) if pid != proc.pid)


def _profile_http(stack: Stack, proc: Proc, load: Load, label: str) -> None:
    out = stack.workdir / f"{label}.raw"
    spy = _spy(_one_worker(proc), out)
    time.sleep(1)  # py-spy attaches
    result = run_load(load, connections=4, max_requests=50_000, max_seconds=SECONDS - 2,
                      workdir=stack.workdir, label=label)
    spy.wait()
    print(f"{label}: {result.rps:.0f} req/s, p50 {result.p50_ms:.0f} ms (1 gunicorn worker)")
    summarize(out, "handle_request")


def api_targets(stack: Stack, dbname: str, plans: dict[str, uuid.UUID]) -> None:
    port = free_port()
    api = stack.fluxus("api", "api", "--bind", f"127.0.0.1:{port}", "--workers", "1", port=port)
    url = f"http://127.0.0.1:{port}"
    name, token = api_bench._customer(url)
    user = api_bench._user_id(dbname, name)
    subs = api_bench._seed_subscriptions(dbname, plans[seed.PLAN_SLUG], user, 3000)
    auth = {"Authorization": f"Bearer {token}"}
    _profile_http(stack, api, Load(url, "GET", "/api/plans/", 200, {}), "GET-plans")
    bodies = [json.dumps({"subscription_id": s, "payment_method": "atm"}) for s in subs]
    _profile_http(stack, api, Load(url, "POST", "/api/orders/", 201,
                                   {**auth, "Content-Type": "application/json"}, bodies=bodies,
                                   key_header="Idempotency-Key"), "POST-orders")
    stack.stop(api)


def callback_target(stack: Stack, dbname: str, plans: dict[str, uuid.UUID]) -> None:
    with pg_cursor(dbname) as cur:
        numbers = seed.add_paying_orders(cur, plans[seed.PLAN_SLUG], 3000)
    port = free_port()
    payment = stack.fluxus("payment", "payment", "--bind", f"127.0.0.1:{port}", "--workers",
                           "1", port=port)
    bodies = seed.notification_bodies(numbers, EcpayCredentials.stage())
    _profile_http(stack, payment, Load(
        f"http://127.0.0.1:{port}", "POST", "/payment/ecpay/callback/", 200,
        {"Content-Type": "application/x-www-form-urlencoded"}, bodies=bodies), "callback")
    stack.stop(payment)


def processing_target(stack: Stack, dbname: str, plans: dict[str, uuid.UUID]) -> None:
    """Stored card notifications (posted with no worker running) drained by one worker."""
    with pg_cursor(dbname) as cur:
        numbers = seed.add_paying_orders(cur, plans[seed.PLAN_SLUG], 3000, prefix="pr")
    port = free_port()
    payment = stack.fluxus("payment-store", "payment", "--bind", f"127.0.0.1:{port}",
                           "--workers", "2", port=port)
    run_load(Load(f"http://127.0.0.1:{port}", "POST", "/payment/ecpay/callback/", 200,
                  {"Content-Type": "application/x-www-form-urlencoded"},
                  bodies=seed.notification_bodies(numbers, EcpayCredentials.stage())),
             connections=8, max_requests=len(numbers), max_seconds=120,
             workdir=stack.workdir, label="store-notifications")
    stack.stop(payment)
    worker = stack.fluxus("worker-payments", "worker", "--queues", "payments")
    out = stack.workdir / "processing.raw"
    _spy(worker.pid, out, subprocesses=True).wait()
    stack.stop(worker)
    with pg_cursor(dbname) as cur:
        cur.execute("SELECT count(processed_at) FROM payment_notifications")
        done = cur.fetchone()[0]
    print(f"notifications processed: {done} in about {SECONDS} s (1 worker, startup included)")
    summarize(out, "perform_job")
    print("  the whole worker loop (RQ's dequeue and bookkeeping around each job included):")
    summarize(out, "work (")


def _renewal_orders(dbname: str) -> int:
    with pg_cursor(dbname) as cur:
        cur.execute("SELECT count(*) FROM orders WHERE is_renewal")
        return int(cur.fetchone()[0])


def renewal_target(stack: Stack, dbname: str, plans: dict[str, uuid.UUID]) -> None:
    """One worker drains renewal batches for SECONDS, inline (the default), then forking."""
    with pg_cursor(dbname) as cur:
        seed.add_due_subscriptions(cur, plans[seed.RENEWAL_SLUG], 80_000, datetime.now(UTC))
    stack.run_fluxus("renew", "--plan", seed.RENEWAL_SLUG)
    for label, extra in (("inline (default)", []), ("--fork", ["--fork"])):
        before = _renewal_orders(dbname)
        worker = stack.fluxus(f"worker{'-'.join(extra)}", "worker", "--queues", "renewals",
                              *extra)
        out = stack.workdir / f"renewal{'-'.join(extra)}.raw"
        _spy(worker.pid, out, subprocesses=True).wait()
        done = _renewal_orders(dbname) - before
        stack.stop(worker)
        print(f"renewal jobs, fluxus worker {label}: {done} orders in about {SECONDS} s "
              "(1 worker, startup included)")
        summarize(out, "perform_job")


def renew_target(stack: Stack, dbname: str, plans: dict[str, uuid.UUID]) -> None:
    with pg_cursor(dbname) as cur:
        seed.add_due_subscriptions(cur, plans["bench-pro"], 20_000, datetime.now(UTC),
                                   prefix="rp")
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    out = stack.workdir / "renew.raw"
    started = time.monotonic()
    proc = stack.start("renew", [spy, "record", "-r", "200", "-f", "raw", "-o", str(out), "--",
                                 sys.executable, "-m", "services", "renew", "--plan",
                                 "bench-pro"])
    proc.popen.wait(600)
    print(f"fluxus renew: 20000 jobs enqueued in {time.monotonic() - started:.1f} s "
          "(under py-spy)")
    summarize(out, "renew_plan")


TARGETS: dict[str, Callable[[Stack, str, dict[str, uuid.UUID]], None]] = {
    "api": api_targets, "callback": callback_target, "processing": processing_target,
    "renewal": renewal_target,
    "renew": renew_target,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("targets", nargs="*", help=f"any of {', '.join(TARGETS)} (default all)")
    parser.add_argument("--top", type=int, default=0,
                        help="also print the N frames holding the most samples")
    args = parser.parse_args()
    global TOP
    TOP = args.top
    unknown = set(args.targets) - set(TARGETS)
    if unknown:
        parser.error(f"unknown targets {', '.join(sorted(unknown))}")
    with fresh_bed("fluxus-profile-") as bed:
        for target in args.targets or TARGETS:
            TARGETS[target](bed.stack, bed.dbname, bed.plans)
    return 0


if __name__ == "__main__":
    sys.exit(main())
