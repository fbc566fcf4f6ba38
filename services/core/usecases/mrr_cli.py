"""`fluxus mrr`: the MRR report as CSV, and booking what the movements missed."""

from __future__ import annotations

from datetime import datetime

import click

from services.core.clock import SystemClock
from services.core.config import get_settings
from services.core.db.session import get_engine, session_scope
from services.core.usecases import mrr as mrr_book


@click.group("mrr")
def mrr() -> None:
    """MRR movements (new, expansion, contraction, churn, reactivation; NT$ excl. tax)."""


@mrr.command("report")
@click.option("--from", "since", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "until", required=True, type=click.DateTime(["%Y-%m-%d"]))
def report(since: datetime, until: datetime) -> None:
    """Print one CSV row per month (Asia/Taipei) from --from's month to --to's."""
    with session_scope(get_engine(get_settings())) as session:
        click.echo(mrr_book.to_csv(mrr_book.report(session, since.date(), until.date())),
                   nl=False)


@mrr.command("reconcile")
def reconcile() -> None:
    """Book each customer's difference between booked MRR and their subscriptions now (run
    once after upgrading: subscriptions paying before then enter as `reconciled`)."""
    with session_scope(get_engine(get_settings())) as session:
        made = mrr_book.reconcile(session, SystemClock().now())
        for m in made:
            click.echo(f"{m.customer_id} {m.kind} {m.amount_twd}")
    click.echo(f"{len(made)} movements booked")
