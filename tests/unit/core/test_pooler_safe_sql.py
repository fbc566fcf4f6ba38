"""No session state in application code, so every process works through PgBouncer in
transaction mode (each transaction may run on a different server connection): locks and
settings are transaction-scoped, and nothing listens, prepares or holds a cursor across
transactions. Migrations are exempt: the migration Job connects to PostgreSQL directly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SOURCES = [p for root in ("services", "operator", "ui") for p in (REPO / root).rglob("*.py")
           if "migrations" not in p.parts]

# SQL is written in capitals here (docstrings say "Set a new password"), so the statement
# keywords are matched case-sensitively.
SESSION_STATE = {
    "session-level advisory lock (use pg_advisory_xact_lock)":
        re.compile(r"pg_(try_)?advisory_lock(_shared)?\s*\("),
    "SET for the session (use SET LOCAL or SET TRANSACTION)":
        re.compile(r"""["']\s*SET\s+(?!LOCAL\b|TRANSACTION\b)"""),
    "LISTEN (a notification arrives on whichever connection the pooler picks)":
        re.compile(r"""["']\s*(UN)?LISTEN\b"""),
    "a named server-side prepared statement": re.compile(r"""["']\s*PREPARE\s"""),
    "a cursor held past its transaction": re.compile(r"WITH\s+HOLD", re.I),
    "a temporary table": re.compile(r"CREATE\s+(LOCAL\s+|GLOBAL\s+)?TEMP(ORARY)?\s", re.I),
    "session characteristics on the connection": re.compile(r"\.set_session\s*\("),
}


def test_the_scan_covers_the_application() -> None:
    assert any(p.name == "mrr.py" for p in SOURCES)


@pytest.mark.parametrize("what", sorted(SESSION_STATE))
def test_no_session_state_a_transaction_pooler_would_leak(what: str) -> None:
    pattern = SESSION_STATE[what]
    found = [f"{p.relative_to(REPO)}:{n}" for p in SOURCES
             for n, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert found == [], what
