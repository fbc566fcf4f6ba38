"""Database URLs without a driver name are normalized to the installed one (psycopg2)."""

from __future__ import annotations

import pytest

from services.core.config import Settings

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("given", "used"), [
    ("postgresql://u:p@db:5432/fluxus", "postgresql+psycopg2://u:p@db:5432/fluxus"),
    ("postgres://u:p@db/fluxus?sslmode=require",
     "postgresql+psycopg2://u:p@db/fluxus?sslmode=require"),
    ("postgresql+psycopg2://u@db/fluxus", "postgresql+psycopg2://u@db/fluxus"),
    ("sqlite:///var/fluxus-dev.db", "sqlite:///var/fluxus-dev.db"),
])
def test_database_urls_are_normalized_to_psycopg2(given: str, used: str) -> None:
    environ = {"FLUXUS_ENV": "development", "FLUXUS_DATABASE_URL": given}
    assert Settings.from_env(environ).database_url == used
