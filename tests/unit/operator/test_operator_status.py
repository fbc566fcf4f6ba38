"""A Plan's status: the Ready condition, what it keeps, and what counts as a change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fluxus_operator.handlers import MAX_BACKOFF_SECONDS, backoff
from fluxus_operator.status import build_status, previous_ready, status_changed

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)


def _ready(now: datetime, previous: dict | None = None) -> dict:
    return build_status(
        now=now,
        generation=3,
        previous=previous,
        ready=True,
        reason="Synced",
        message="ok",
        plan_id="7d3c",
        cronjob="fluxus-renew-pro",
    )


def test_a_synced_plan_reports_its_row_cronjob_and_generation() -> None:
    status = _ready(T0)
    assert status["planId"] == "7d3c"
    assert status["cronJob"] == "fluxus-renew-pro"
    assert status["observedGeneration"] == 3
    assert status["lastSyncTime"] == "2026-11-26T04:00:00Z"
    assert status["conditions"] == [
        {
            "type": "Ready",
            "status": "True",
            "reason": "Synced",
            "message": "ok",
            "lastTransitionTime": "2026-11-26T04:00:00Z",
        }
    ]


def test_the_transition_time_moves_only_when_readiness_flips() -> None:
    first = _ready(T0)
    again = _ready(T0 + timedelta(minutes=5), previous=first)
    assert previous_ready(again)["lastTransitionTime"] == "2026-11-26T04:00:00Z"
    broken = build_status(
        now=T0 + timedelta(minutes=9),
        generation=3,
        previous=again,
        ready=False,
        reason="DatabaseUnavailable",
        message="down",
    )
    assert previous_ready(broken)["lastTransitionTime"] == "2026-11-26T04:09:00Z"
    assert previous_ready(broken)["status"] == "False"


def test_a_failed_attempt_keeps_what_it_did_not_learn() -> None:
    broken = build_status(
        now=T0,
        generation=4,
        previous=_ready(T0),
        ready=False,
        reason="InvalidSpec",
        message="price: must be a whole TWD amount ≥ 0",
    )
    assert broken["planId"] == "7d3c"
    assert broken["cronJob"] == "fluxus-renew-pro"
    assert broken["observedGeneration"] == 4
    assert previous_ready(broken)["reason"] == "InvalidSpec"


def test_a_new_sync_time_alone_is_not_a_change() -> None:
    first = _ready(T0)
    assert not status_changed(_ready(T0 + timedelta(minutes=1), previous=first), first)
    assert status_changed(first, {})
    assert status_changed(first, {**first, "observedGeneration": 2})


def test_backoff_grows_and_is_capped() -> None:
    delays = [backoff(retry) for retry in range(12)]
    assert delays[:4] == [1.0, 2.0, 4.0, 8.0]
    assert delays == sorted(delays)
    assert max(delays) == MAX_BACKOFF_SECONDS
