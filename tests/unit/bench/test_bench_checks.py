"""The benchmark refuses to print a figure for work that was not done, and seeds due
subscriptions the way payment activation writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench import run, seed
from bench.results import SectionIncomplete, require_done, require_none
from services.core.domain.periods import BillingCycle, next_period, period_at, period_number
from services.core.usecases.renewals import RENEWAL_LEAD


def test_a_section_with_fewer_results_than_wanted_is_refused() -> None:
    with pytest.raises(SectionIncomplete, match="0 of 1000 renewal orders"):
        require_done("renewal", "renewal orders", 0, 1000)
    with pytest.raises(SectionIncomplete, match="3 callbacks not answered"):
        require_none("webhook", "callbacks not answered 1|OK", 3)


def test_a_section_that_did_all_its_work_passes() -> None:
    require_done("renewal", "renewal orders", 1000, 1000)
    require_none("api", "unexpected statuses", 0)


def test_an_incomplete_section_exits_non_zero_and_writes_no_results(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def failing_run(*args: object, **kwargs: object) -> list[object]:
        require_done("renewal", "renewal orders", 0, 1000)
        return []

    monkeypatch.setattr(run, "one_run", failing_run)
    results = tmp_path / "RESULTS.md"
    assert run.main(["--quick", "--results", str(results)]) == 1
    assert not results.exists()


def test_seeded_subscriptions_are_due_and_on_their_anchor_every_day_of_two_years() -> None:
    cycle = BillingCycle.MONTHLY
    for day in range(366 * 2):
        now = datetime(2026, 1, 1, 3, 17, tzinfo=UTC) + timedelta(days=day, hours=day % 24)
        period = seed.due_period(now)
        assert period_number(period.start, cycle, period.end) == 1, now
        assert now - timedelta(days=3) < period.end <= now + RENEWAL_LEAD, now
        # Its renewal is one whole cycle, as for a customer who paid a month ago.
        assert next_period(period.start, cycle, period.end) == period_at(period.start, cycle, 1)
