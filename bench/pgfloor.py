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
    logdir = workdir / "pgbench"
    logdir.mkdir(exist_ok=True)
    argv = [pgbench_binary(), "-n", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER,
            "-c", str(clients), "-j", "2", "-T", str(max(1, round(seconds))), "-l",
            "--log-prefix", str(logdir / "tx"), "-f", str(script), dbname]
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
            """INSERT INTO bench_floor_orders (id, order_number, user_id, subscription_id,
                   plan_id, amount, currency, status, payment_method, is_renewal,
                   period_start, period_end, expire_at, created_at, updated_at)
               SELECT gen_random_uuid(),
                      'FX' || upper(substr(md5(s.id::text), 1, 18)),
                      s.user_id, s.id, s.plan_id, p.price, p.currency, 'pending',
                      s.payment_method, true, s.end_date, s.end_date + interval '1 month',
                      s.end_date + make_interval(days => p.grace_days), now(), now()
               FROM subscriptions s JOIN plans p ON p.id = s.plan_id
               WHERE s.plan_id = %s AND s.status = 'active'""",
            (plan_id,),
        )
        rows = cur.rowcount
        seconds = time.perf_counter() - started
    return rows, seconds
