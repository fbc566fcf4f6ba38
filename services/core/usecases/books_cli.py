"""`fluxus audit books`: do the books balance? Exit 0 clean, 1 findings, 2 database unreachable."""

from __future__ import annotations

import json
import sys
from datetime import timedelta

import click
from sqlalchemy import text

from services.core.clock import Clock, FixedClock, SystemClock, parse_instant
from services.core.config import get_settings
from services.core.db.session import get_engine, session_scope
from services.core.errors import ServiceUnavailable
from services.core.usecases.books import DEFAULT_LIMIT, STALE_AFTER, BooksReport, audit_books


@click.group("audit")
def audit() -> None:
    """Consistency checks an operator can run against the live database."""


def _instant(value: str | None, option: str) -> Clock | None:
    if value is None:
        return None
    try:
        return FixedClock(parse_instant(value))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from exc


def _print(report: BooksReport, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    for finding in report.findings:
        click.echo(finding.line())
    for check in report.truncated:
        click.echo(f"{check}: more findings than listed (raise --limit)")
    if report.clean:
        click.echo(f"books balance (as of {report.as_of.isoformat()})")
    else:
        summary = ", ".join(f"{name} {count}" for name, count in report.counts.items())
        click.echo(f"books do NOT balance: {summary}", err=True)


@audit.command("books")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@click.option(
    "--stale-minutes",
    type=click.IntRange(min=0),
    show_default=True,
    default=int(STALE_AFTER.total_seconds() // 60),
    help="accepted notifications unprocessed for longer than this are reported",
)
@click.option(
    "--since",
    "since_text",
    default=None,
    help="ISO-8601 instant: only look at rows changed since then",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=DEFAULT_LIMIT,
    show_default=True,
    help="findings listed per check",
)
@click.option("--now", "now_text", default=None, help="ISO-8601 instant to judge staleness by")
def books(
    as_json: bool, stale_minutes: int, since_text: str | None, limit: int, now_text: str | None
) -> None:
    """Paid orders without exactly one invoice, invoices that disagree with their order or
    with the 5% included tax, active subscriptions whose period nobody paid, accepted ECPay
    notifications never processed, completed orders not paid exactly once (by an attempt or
    a periodic charge), paid attempts of unpaid orders, successful periodic charges neither
    applied nor parked, and every payment review item still open."""
    since_clock = _instant(since_text, "--since")
    clock = _instant(now_text, "--now") or SystemClock()
    settings = get_settings()
    try:
        with session_scope(get_engine(settings)) as session:
            if session.get_bind().dialect.name == "postgresql":
                # One snapshot for every check, and a promise to change nothing.
                session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
            report = audit_books(
                session,
                clock,
                stale_after=timedelta(minutes=stale_minutes),
                since=since_clock.now() if since_clock else None,
                limit=limit,
            )
    except ServiceUnavailable as exc:
        click.echo(f"audit books: {exc.message}", err=True)
        sys.exit(2)
    _print(report, as_json)
    sys.exit(0 if report.clean else 1)
