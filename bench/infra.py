"""What a benchmark run stands on: a fresh database, a private Redis, processes it owns."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
from psycopg2 import sql
from psycopg2.extras import register_uuid
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

ROOT = Path(__file__).resolve().parent.parent
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
register_uuid()  # psycopg2 then passes uuid.UUID parameters as PostgreSQL uuids


def wait_until(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """Poll `check` until truthy; raise after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def pg_connect(dbname: str = "postgres", autocommit: bool = True) -> Any:
    conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=dbname,
                            connect_timeout=5)
    conn.autocommit = autocommit
    return conn


@contextmanager
def pg_cursor(dbname: str) -> Iterator[Any]:
    """An autocommit cursor on `dbname`, its connection closed afterwards."""
    conn = pg_connect(dbname)
    try:
        with conn.cursor() as cur:
            yield cur
    finally:
        conn.close()


@contextmanager
def fresh_database() -> Iterator[tuple[str, str]]:
    """A new, empty PostgreSQL database; yields (name, SQLAlchemy URL); dropped afterwards."""
    name = f"fluxus_bench_{uuid.uuid4().hex[:10]}"
    admin = pg_connect()
    try:
        with admin.cursor() as cur:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        yield name, f"postgresql+psycopg2://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
        admin.close()


@contextmanager
def private_redis(workdir: Path) -> Iterator[str]:
    """A redis-server of our own on a free loopback port, without persistence."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=(workdir / "redis.log").open("wb"), stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = Redis.from_url(url)
        wait_until(lambda: _pings(client), "the private redis-server", 15)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _pings(client: Redis) -> bool:
    try:
        return bool(client.ping())
    except RedisConnectionError:
        return False


@dataclass
class Proc:
    """One process a benchmark started (its own process group), with its log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    port: int | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stop(self, timeout: float = 20.0) -> None:
        if self.popen.poll() is not None:
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)


@dataclass
class Stack:
    """Environment shared by every Fluxus process of a run, and the processes started."""

    workdir: Path
    env: dict[str, str]
    procs: list[Proc] = field(default_factory=list)

    def start(self, name: str, argv: list[str], *, port: int | None = None,
              extra_env: dict[str, str] | None = None) -> Proc:
        log = self.workdir / f"{name}.log"
        env = {**self.env, "FLUXUS_METRICS_PORT": str(free_port()), **(extra_env or {})}
        popen = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log.open("wb"),
                                 stderr=subprocess.STDOUT, start_new_session=True)
        proc = Proc(name, popen, log, port)
        self.procs.append(proc)
        if port is not None:
            try:
                wait_until(lambda: _listening(port) or popen.poll() is not None,
                           f"{name} on port {port}", 60)
            except TimeoutError:
                proc.stop()
                raise
            if popen.poll() is not None:
                raise RuntimeError(f"{name} exited: {log.read_text()[-2000:]}")
        return proc

    def fluxus(self, name: str, *args: str, port: int | None = None,
               extra_env: dict[str, str] | None = None) -> Proc:
        return self.start(name, [sys.executable, "-m", "services", *args], port=port,
                          extra_env=extra_env)

    def run_fluxus(self, *args: str, timeout: float = 3600) -> subprocess.CompletedProcess[str]:
        env = {**self.env, "FLUXUS_METRICS_PORT": str(free_port())}
        done = subprocess.run([sys.executable, "-m", "services", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"fluxus {' '.join(args)} failed: {done.stderr[-2000:]}")
        return done

    def stop(self, proc: Proc) -> None:
        proc.stop()
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        self.procs.clear()


def base_env(database_url: str, redis_url: str) -> dict[str, str]:
    """The environment of every Fluxus process: development settings, limits out of the way."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV", "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update({
        "FLUXUS_ENV": "development",
        "FLUXUS_DATABASE_URL": database_url,
        "FLUXUS_REDIS_URL": redis_url,
        "FLUXUS_LOG_LEVEL": "INFO",
        # The limiter still counts every request in Redis; the limit is just never reached.
        "FLUXUS_RATE_LIMITS": "100000000 per minute",
        "FLUXUS_AUTH_THROTTLE": "false",
        "FLUXUS_DB_POOL_SIZE": "5",
        "FLUXUS_SMTP_PORT": str(free_port()),  # nobody listens: e-mail jobs are not drained
        "PYTHONUNBUFFERED": "1",
    })
    return env


@dataclass(frozen=True)
class Bed:
    """What a diagnostic runs on: a migrated database with the seeded plans, a private Redis,
    and the Stack that starts Fluxus processes against them."""

    stack: Stack
    dbname: str
    redis_url: str
    plans: dict[str, uuid.UUID]


@contextmanager
def _workdir(prefix: str, keep: bool) -> Iterator[str]:
    if keep:
        yield tempfile.mkdtemp(prefix=prefix)
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield tmp


@contextmanager
def fresh_bed(prefix: str, keep: bool = False) -> Iterator[Bed]:
    """A fresh database and Redis, migrated and seeded; every process stopped and everything
    dropped afterwards (but the work folder, with each process's log, when `keep`). Invoice
    PDFs go to the work folder."""
    from bench import seed  # late: seed's ECPay imports are not needed by the rest of infra

    with _workdir(prefix, keep) as tmp, \
            fresh_database() as (dbname, url), private_redis(Path(tmp)) as redis_url:
        stack = Stack(Path(tmp), {**base_env(url, redis_url), "FLUXUS_INVOICE_DIR": tmp})
        try:
            stack.run_fluxus("db", "upgrade", timeout=300)
            with pg_cursor(dbname) as cur:
                plans = seed.add_plans(cur)
            yield Bed(stack, dbname, redis_url, plans)
        finally:
            stack.stop_all()
