"""Every process through PgBouncer in transaction mode: `fluxus api`, `fluxus payment`, a
`fluxus worker` and `fluxus renew` on the pooler's URL carry a customer from registration to
a paid order (a signed ECPay notification, processed), an invoice export and a renewal — and
leave nothing on the pooler's shared server connections that would leak to the next client:
no advisory lock, no SET, no prepared statement, no open cursor, no temporary table."""

from __future__ import annotations

import dataclasses
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg2
import pytest
from sqlalchemy.engine import make_url

from services.core.config import Settings
from services.core.db.session import dispose_engines, get_engine, session_scope
from services.core.domain.periods import TAIPEI
from services.core.usecases import auth_passwords
from tests.reliability.harness import FLUXUS, REPO, Procs
from tests.reliability.stack import Stack
from tests.support.factories import make_plan, make_user
from tests.support.pgbouncer import PgBouncer
from tests.support.smtp import Inbox, smtp_server
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

STAFF_PASSWORD = "Quiet-Harbour-2026!"
# PgBouncer itself sets these on a server connection to match each client (its tracked
# parameters); anything else set for the session was set by a client and would leak.
POOLER_TRACKED = {"client_encoding", "DateStyle", "TimeZone", "standard_conforming_strings",
                  "application_name"}


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def procs() -> Iterator[Procs]:
    with tempfile.TemporaryDirectory(prefix="fluxus-pooled-") as path:
        running = Procs(Path(path))
        try:
            yield running
        finally:
            print(running.report())  # shown under a failed test
            running.stop_all()
            dispose_engines()


@pytest.fixture
def pooled(settings: Settings, pgbouncer: PgBouncer, inbox: tuple[Inbox, int],
           procs: Procs) -> Stack:
    """The services on the pooler's URL; the test seeds and inspects the primary directly."""
    with session_scope(get_engine(settings)) as db:
        make_plan(db, slug="pro")
        make_user(db, username="staffer", email="staffer@example.tw", is_staff=True,
                  password_hash=auth_passwords.hash_password(STAFF_PASSWORD))
    through_pooler = dataclasses.replace(
        settings, database_url=pgbouncer.url(settings.database_url), smtp_host="127.0.0.1",
        smtp_port=inbox[1], auth_throttle=False, dashboard_url="https://app.example.tw")
    stack = Stack(through_pooler, procs)
    stack.start_sim()
    extra = {"FLUXUS_EINVOICE_URL": stack.sim}
    stack.start_payment(workers=2, wait=False, **extra)
    stack.start_api(workers=2, wait=False, **extra)
    stack.wait_ready()
    procs.start("worker", ["worker", "--queues", "payments,invoices,email,renewals"],
                stack.env(**extra))
    return stack


def _renew(stack: Stack, now: datetime) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FLUXUS, "renew", "--plan", "pro", "--now", now.isoformat()],
                          env=stack.env(), cwd=REPO, capture_output=True, text=True,
                          timeout=120, check=False)


def _staff_token(stack: Stack) -> str:
    body = {"username": "staffer", "password": STAFF_PASSWORD}
    response = httpx.post(f"{stack.api}/api/auth/login/", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return str(response.json()["access"])


def _server_connection_state(pooler_url: str, pool_size: int) -> list[dict[str, Any]]:
    """What each of the pooler's server connections carries: the clients hold a transaction
    open each, so every one of them gets a server connection of its own."""
    url = make_url(pooler_url)
    clients = [psycopg2.connect(host=url.host, port=url.port, user=url.username,
                                dbname=url.database, connect_timeout=5)
               for _ in range(pool_size)]
    try:
        states = []
        for conn in clients:  # not autocommit: each keeps its transaction (and server) open
            with conn.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                pid = cur.fetchone()[0]  # type: ignore[index]
                cur.execute("SELECT name FROM pg_settings WHERE source = 'session'")
                settings = {row[0] for row in cur.fetchall()} - POOLER_TRACKED
                cur.execute("SELECT count(*) FROM pg_prepared_statements")
                prepared = cur.fetchone()[0]  # type: ignore[index]
                cur.execute("SELECT count(*) FROM pg_cursors")
                cursors = cur.fetchone()[0]  # type: ignore[index]
            states.append({"pid": pid, "set": settings, "prepared": prepared,
                           "cursors": cursors})
        return states
    finally:
        for conn in clients:
            conn.rollback()
            conn.close()


def _server_wide(database_url: str) -> dict[str, int]:
    url = make_url(database_url)
    conn = psycopg2.connect(host=url.host, port=url.port, user=url.username,
                            dbname=url.database, connect_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
            locks = cur.fetchone()[0]  # type: ignore[index]
            cur.execute("SELECT count(*) FROM pg_class WHERE relpersistence = 't'")
            temp_tables = cur.fetchone()[0]  # type: ignore[index]
        return {"advisory_locks": locks, "temp_tables": temp_tables}
    finally:
        conn.close()


def test_a_customer_pays_and_renews_with_every_process_through_pgbouncer(
    pooled: Stack, settings: Settings, pgbouncer: PgBouncer, inbox: tuple[Inbox, int]
) -> None:
    customer = pooled.customer()  # registration: a write, a welcome e-mail job
    sub = customer.subscribe(customer.plan("pro")["id"])
    order = customer.order(sub["id"], "atm")
    customer.check_out(order["id"])
    customer.gateway_action(order["order_number"], "issue-code")
    customer.gateway_action(order["order_number"], "pay")  # ECPay's signed notification
    paid = customer.wait_order(order["id"], "completed")  # stored, queued, processed
    invoice = wait_for(lambda: customer.get("/api/invoices/")["results"], "the invoice")[0]
    wait_for(lambda: any(invoice["invoice_number"] in text
                         for text in inbox[0].texts_to(customer.email)), "the invoice e-mail")
    assert customer.get("/api/subscriptions/")["results"][0]["status"] == "active"

    # A staff export streams invoices through a server-side cursor (inside one transaction).
    # The export's days are Taipei days: from 16:00 UTC on, the UTC date is the day before.
    day = datetime.fromisoformat(paid["paid_at"]).astimezone(TAIPEI).date().isoformat()
    export = httpx.get(f"{pooled.api}/api/reports/invoices.csv",
                       params={"from": day, "to": day}, timeout=30,
                       headers={"Authorization": f"Bearer {_staff_token(pooled)}"})
    assert export.status_code == 200 and invoice["invoice_number"] in export.text

    old_end = datetime.fromisoformat(customer.get(f"/api/subscriptions/{sub['id']}/")
                                     ["end_date"])
    ran = _renew(pooled, old_end - timedelta(hours=1))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    renewal = wait_for(lambda: next((o for o in customer.get("/api/orders/")["results"]
                                     if o["is_renewal"]), None), "the renewal order")
    assert renewal["status"] == "pending"
    assert datetime.fromisoformat(renewal["period_start"]) == old_end

    # Nothing the processes did outlived its transaction on the shared server connections.
    states = _server_connection_state(pooled.settings.database_url, pgbouncer.pool_size)
    assert len({s["pid"] for s in states}) == pgbouncer.pool_size
    assert [(s["set"], s["prepared"], s["cursors"]) for s in states] == [
        (set(), 0, 0)] * pgbouncer.pool_size
    assert _server_wide(settings.database_url) == {"advisory_locks": 0, "temp_tables": 0}
