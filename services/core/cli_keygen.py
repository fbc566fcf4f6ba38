"""`fluxus keygen`: print a fresh data-encryption key for FLUXUS_DATA_ENCRYPTION_KEY."""

from __future__ import annotations

import click
from cryptography.fernet import Fernet


@click.command()
def keygen() -> None:
    """Print a new random key for FLUXUS_DATA_ENCRYPTION_KEY."""
    click.echo(Fernet.generate_key().decode())
