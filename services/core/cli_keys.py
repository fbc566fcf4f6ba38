"""`fluxus keys rotate`: re-encrypt payment data and webhook secrets at rest with the current
data key."""

from __future__ import annotations

import click


@click.group()
def keys() -> None:
    """Data-encryption keys (FLUXUS_DATA_ENCRYPTION_KEY)."""


@keys.command()
def rotate() -> None:
    """Re-encrypt stored payment data and webhook signing secrets with the first key of
    FLUXUS_DATA_ENCRYPTION_KEY (webhook secrets stored plain before 0007 are encrypted).

    Rotation: set FLUXUS_DATA_ENCRYPTION_KEY=NEW,OLD on every process (both are accepted),
    run this once, then drop OLD.
    """
    from services.core.config import get_settings
    from services.core.db.session import get_engine, session_factory
    from services.core.usecases.data_keys import rotate_data_keys

    settings = get_settings()
    with session_factory(get_engine(settings))() as session:
        rotated = rotate_data_keys(session, settings)
    click.echo(f"re-encrypted {rotated.orders} orders and {rotated.notifications} payment"
               f" notifications, and the secrets of {rotated.webhook_endpoints} webhook"
               " endpoints, with the current key")
