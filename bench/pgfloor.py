"""PostgreSQL's own rates, measured by pgbench and plain SQL in the same run: the floors."""

from __future__ import annotations

import glob
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.infra import PG_HOST, PG_PORT, PG_USER, pg_cursor
from bench.loadgen import percentile_ms

# One notification-like row per transaction, as the payment service stores one per callback:
# a uuid key, a 64-character unique dedupe key, a ~500-byte JSONB form and timestamps.
_SCRIPT = """\\set n random(1, 1000000000)
INSERT INTO bench_floor_notifications (id, dedupe_key, kind, merchant_trade_no, verdict,
    rtn_code, raw, request_id, received_at, attempts)
VALUES (gen_random_uuid(), md5(random()::text) || md5(random()::text), 'return',
    'BW' || :n, 'accepted', '1', '{raw}'::jsonb, md5(random()::text), now(), 0);
"""

_RAW = ('{"MerchantID": "3002607", "MerchantTradeNo": "BW000000012345", "StoreID": "", '
        '"RtnCode": "1", "RtnMsg": "交易成功", "TradeNo": "2600000000012345", '
        '"TradeAmt": "990", "PaymentDate": "2026/11/26 12:00:00", '
        '"PaymentType": "Credit_CreditCard", "PaymentTypeChargeFee": "27", '
        '"TradeDate": "2026/11/26 12:00:00", "SimulatePaid": "0", "CustomField1": "", '
        '"CustomField2": "", "CustomField3": "", "CustomField4": "", "CheckMacValue": '
        '"6C51C9E6888DE861FD62FB1DD17029FC742634498FD813DC43D4243B5685B840"}')


# One pending order per due subscription of a plan, as a renewal would make it (both floors).
_ORDERS_FROM_DUE = """INSERT INTO {table} (id, order_number, user_id, subscription_id,
        plan_id, amount, currency, status, payment_method, is_renewal,
        period_start, period_end, expire_at, created_at, updated_at)
    SELECT gen_random_uuid(), 'FX' || upper(substr(md5(s.id::text), 1, 18)),
           s.user_id, s.id, s.plan_id, p.price, p.currency, 'pending',
           s.payment_method, true, s.end_date, s.end_date + interval '1 month',
           s.end_date + make_interval(days => p.grace_days), now(), now()
    FROM subscriptions s JOIN plans p ON p.id = s.plan_id
    WHERE s.plan_id = %s AND s.status = 'active'"""


@dataclass(frozen=True)
class PgbenchResult:
    tps: float
    transactions: int
    p50_ms: float
    p99_ms: float
    clients: int


def pgbench_binary() -> str:
    found = shutil.which("pgbench") or next(
        iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"), reverse=True)), None)
    if found is None:
        raise RuntimeError("pgbench not found (it comes with the PostgreSQL server packages)")
    return found


def insert_rate(dbname: str, *, clients: int, seconds: float, workdir: Path) -> PgbenchResult:
    """pgbench inserting notification-like rows, one per transaction, `clients` at once."""
    with pg_cursor(dbname) as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS bench_floor_notifications "
                    "(LIKE payment_notifications INCLUDING ALL)")
    script = workdir / "floor_notifications.sql"
    script.write_text(_SCRIPT.format(raw=_RAW))
    return _pgbench(dbname, ["-f", str(script)], clients=clients, seconds=seconds,
                    logdir=workdir / "pgbench")


# TPC-B's scale: one branch row per client, so clients do not all queue on one branch.
TPCB_SCALE = 16


def tpcb_rate(dbname: str, *, clients: int, seconds: float, workdir: Path) -> PgbenchResult:
    """pgbench's built-in TPC-B-like transaction (three UPDATEs, a SELECT and an INSERT),
    `clients` at once, on its own tables in `dbname` (scale TPCB_SCALE)."""
    init = subprocess.run(
        [pgbench_binary(), "-i", "-q", "-s", str(TPCB_SCALE), *_connection(), dbname],
        capture_output=True, text=True, timeout=600, check=False)
    if init.returncode != 0:
        raise RuntimeError(f"pgbench -i failed: {init.stderr[-1000:]}")
    return _pgbench(dbname, ["-b", "tpcb-like"], clients=clients, seconds=seconds,
                    logdir=workdir / "pgbench-tpcb")


def _connection() -> list[str]:
    return ["-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER]


def _pgbench(dbname: str, workload: list[str], *, clients: int, seconds: float,
             logdir: Path) -> PgbenchResult:
    logdir.mkdir(exist_ok=True)
    argv = [pgbench_binary(), "-n", *_connection(),
            "-c", str(clients), "-j", "2", "-T", str(max(1, round(seconds))), "-l",
            "--log-prefix", str(logdir / "tx"), *workload, dbname]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60,
                          check=False)
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"pgbench failed: {done.stdout[-1000:]} {done.stderr[-1000:]}")
    latencies = [int(line.split()[2]) / 1e6
                 for log in logdir.glob("tx.*") for line in log.read_text().splitlines()]
    return PgbenchResult(float(match[1]), len(latencies), percentile_ms(latencies, 50),
                         percentile_ms(latencies, 99), clients)


def bulk_insert_orders(dbname: str, plan_id: str) -> tuple[int, float]:
    """A plain INSERT … SELECT of one pending order per due subscription of the plan, into a
    copy of the orders table with the same indexes and unique constraints (no triggers)."""
    with pg_cursor(dbname) as cur:
        cur.execute("CREATE TABLE bench_floor_orders (LIKE orders INCLUDING ALL)")
        started = time.perf_counter()
        cur.execute(
            _ORDERS_FROM_DUE.format(table="bench_floor_orders"),
            (plan_id,),
        )
        rows = cur.rowcount
        seconds = time.perf_counter() - started
    return rows, seconds


def _copy_with_foreign_keys(cur: object, table: str, copy: str) -> None:
    """`copy`: `table`'s columns, indexes and unique constraints, and its foreign keys too
    (LIKE … INCLUDING ALL leaves those out, and each one is a lookup per inserted row)."""
    cur.execute(f"CREATE TABLE {copy} (LIKE {table} INCLUDING ALL)")  # type: ignore[attr-defined]
    cur.execute(  # type: ignore[attr-defined]
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = 'f'", (table,))
    for (definition,) in cur.fetchall():  # type: ignore[attr-defined]
        cur.execute(f"ALTER TABLE {copy} ADD {definition}")  # type: ignore[attr-defined]


def design_writes(dbname: str, plan_id: str) -> tuple[int, float]:
    """What this design writes per renewal, in plain SQL and one transaction: the order (with
    its foreign keys), its audit row and its payment-link e-mail row, each one INSERT … SELECT
    for every due subscription of the plan, into copies of the real tables. No Python, no
    locks, no checks: the floor of the design itself, beside the plain bulk INSERT floor."""
    with pg_cursor(dbname) as cur:
        for table in ("orders", "audit_logs", "email_deliveries"):
            _copy_with_foreign_keys(cur, table, f"bench_design_{table}")
        started = time.perf_counter()
        cur.execute("BEGIN")
        cur.execute(
            _ORDERS_FROM_DUE.format(table="bench_design_orders"),
            (plan_id,),
        )
        rows = cur.rowcount
        cur.execute(
            """INSERT INTO bench_design_audit_logs (id, user_id, action, resource_type,
                   resource_id, description, user_agent, metadata, created_at)
               SELECT gen_random_uuid(), o.user_id, 'renewal_order_created', 'order',
                      o.id::text, '', 'fluxus-system',
                      jsonb_build_object('subscription_id', o.subscription_id::text,
                                         'period_start', o.period_start::text), now()
               FROM bench_design_orders o""")
        cur.execute(
            """INSERT INTO bench_design_email_deliveries (id, event_key, template, user_id,
                   recipient, context, status, attempts, created_at)
               SELECT gen_random_uuid(), 'renewal_payment_link:' || o.id, 'renewal_payment_link',
                      o.user_id, u.email,
                      jsonb_build_object('order_id', o.id::text,
                                         'pay_url', 'https://app.example.tw/orders/' || o.id),
                      'pending', 0, now()
               FROM bench_design_orders o JOIN users u ON u.id = o.user_id""")
        cur.execute("COMMIT")
        seconds = time.perf_counter() - started
    return rows, seconds
