"""Fixtures of the end-to-end suites: a loopback SMTP server that keeps what it receives and a
scratch folder that outlives pytest's pruning (the private Redis is tests/conftest.py's)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.smtp import Inbox, smtp_server


@pytest.fixture(scope="session")
def inbox() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as server:
        yield server


@pytest.fixture(scope="session")
def smtp_port(inbox: tuple[Inbox, int]) -> int:
    return inbox[1]


@pytest.fixture(scope="session")
def workdir() -> Iterator[Path]:
    """Our own scratch folder: pytest prunes old basetemps when other runs start, which would
    pull files out from under the long-lived processes here."""
    path = Path(tempfile.mkdtemp(prefix="fluxus-e2e-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)
