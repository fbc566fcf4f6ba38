"""`fluxus db`: apply and check the schema."""

from __future__ import annotations

import sys

import click
from sqlalchemy.exc import OperationalError

from services.core.config import get_settings
from services.core.db import migrate


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@click.group()
def db() -> None:
    """Database schema: upgrade, check, wait."""


@db.command()
@click.option("--revision", default="head", show_default=True)
def upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (head by default)."""
    url = get_settings().database_url
    if revision == "head":
        state = migrate.schema_state(url)
        if state.newer_but_compatible:
            # An older chart re-applied (a GitOps revert): its hook must not fail on
            # revisions it has never seen, and must not downgrade either.
            click.echo(state.describe() + "; nothing to do")
            return
    click.echo(f"upgrading {_redacted(url)} to {revision}")
    migrate.upgrade(url, revision)
    click.echo(migrate.schema_state(url).describe())


@db.command()
@click.argument("revision")
def downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (e.g. -1 or base)."""
    url = get_settings().database_url
    migrate.downgrade(url, revision)
    click.echo(migrate.schema_state(url).describe())


@db.command()
def check() -> None:
    """Exit 0 when the schema is at head; 1 (with the reason) when it is behind."""
    url = get_settings().database_url
    try:
        state = migrate.schema_state(url)
    except OperationalError as exc:
        click.echo(f"cannot reach {_redacted(url)}: {exc.orig}", err=True)
        sys.exit(2)
    if state.up_to_date:
        click.echo(state.describe())
        return
    click.echo(state.describe() + " — run `fluxus db upgrade`", err=True)
    sys.exit(1)


@db.command()
@click.option("--timeout", default=300.0, show_default=True, help="seconds to wait")
def wait(timeout: float) -> None:
    """Block until the database is reachable and at head, or newer and recorded as compatible
    with this code (init containers use this; see services/core/db/migrate.py)."""
    try:
        state = migrate.wait_for_schema(get_settings().database_url, timeout)
    except TimeoutError as exc:
        click.echo(f"gave up waiting: {exc}", err=True)
        sys.exit(1)
    click.echo(state.describe())
