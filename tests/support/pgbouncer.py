"""A private PgBouncer (the Debian package) in transaction mode in front of the test
PostgreSQL, on a free loopback port with its own configuration directory."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

import psycopg2
from sqlalchemy.engine import make_url

from tests.support.databases import PG_ADMIN_URL
from tests.support.ports import free_port
from tests.support.waiting import wait_for


class PgBouncer:
    """`pool_size` server connections per database and user: a small pool hands the same
    server connection to every process in turn, so state one client leaves on it (a session
    lock, a SET) reaches the others, as it would in production."""

    def __init__(self, workdir: Path, pool_size: int = 2) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.pool_size = pool_size
        self.popen: subprocess.Popen[bytes] | None = None
        self.log = workdir / "pgbouncer.log"

    def url(self, database_url: str) -> str:
        """`database_url` (a test database) through this pooler."""
        url = make_url(database_url).set(host="127.0.0.1", port=self.port)
        return url.render_as_string(hide_password=False)

    def _config(self) -> Path:
        server = make_url(PG_ADMIN_URL)
        user = server.username or "postgres"
        (self.workdir / "userlist.txt").write_text(f'"{user}" ""\n')
        ini = self.workdir / "pgbouncer.ini"
        ini.write_text(
            "[databases]\n"
            f"* = host={server.host or '127.0.0.1'} port={server.port or 5432}\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.port}\n"
            "unix_socket_dir =\n"
            # The test server trusts loopback; production authenticates (the chart's is scram).
            "auth_type = trust\n"
            f"auth_file = {self.workdir / 'userlist.txt'}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {self.pool_size}\n"
            "max_client_conn = 500\n"
            # Transaction mode never resets a server connection between clients: what one
            # leaves behind, the next one gets (the point of these tests).
            "server_reset_query =\n"
            f"admin_users = {user}\n"
        )
        return ini

    def start(self) -> None:
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        if not Path(binary).exists():
            raise RuntimeError("pgbouncer is required by these tests (Debian package pgbouncer;"
                               " scripts/bootstrap.sh installs it)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        args = [binary, str(self._config())]
        if os.geteuid() == 0:
            # PgBouncer refuses to run as root: drop to the database's system user.
            account = next(n for n in ("postgres", "nobody") if _user_exists(n))
            args[1:1] = ["-u", account]
            self.workdir.chmod(0o755)
        with self.log.open("ab") as handle:
            self.popen = subprocess.Popen(args, stdout=handle, stderr=subprocess.STDOUT,
                                          start_new_session=True)
        wait_for(self._answers, f"pgbouncer on port {self.port}", 20)

    def _answers(self) -> bool:
        if self.popen is not None and self.popen.poll() is not None:
            raise AssertionError(f"pgbouncer exited:\n{self.log.read_text(errors='replace')}")
        try:
            conn = psycopg2.connect(host="127.0.0.1", port=self.port, dbname="pgbouncer",
                                    user=make_url(PG_ADMIN_URL).username or "postgres",
                                    connect_timeout=2)
        except psycopg2.OperationalError:
            return False
        conn.close()
        return True

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            self.popen.wait(timeout=15)
        self.popen = None


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
