"""The drift timer's routine successes are not posted as Events (issue #22.11): one per Plan
per minute would bury the Events an SRE reads in `kubectl describe plan`."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.operator.conftest import WATCHED, Cluster, eventually

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("operator_process")]

SPEC: dict[str, Any] = {
    "displayName": "Pro",
    "price": 990,
    "billingCycle": "monthly",
    "renewal": {"schedule": "0 * * * *"},
}
CRONJOB = "fluxus-renew-pro-monthly"


def test_routine_timer_runs_post_no_events_but_repairs_still_do(cluster: Cluster) -> None:
    cluster.create_plan("pro-monthly", SPEC)
    cluster.wait_ready("pro-monthly", reason="Synced")
    # Two repairs by the drift timer: proof that it ran (and succeeded) several times.
    for schedule in ("5 * * * *", "10 * * * *"):
        cluster.batch.patch_namespaced_cron_job(
            CRONJOB,
            WATCHED,
            {"spec": {"schedule": schedule}},
            _content_type="application/merge-patch+json",
        )
        eventually(
            lambda: (cluster.cronjob(CRONJOB) or {})["spec"]["schedule"] == "0 * * * *",
            "the drift timer to repair the CronJob",
        )
    # Kopf posts Events from a background queue, after the repair itself is visible.
    eventually(
        lambda: sum(reason == "CronJobUpdated" for reason, _ in cluster.events("pro-monthly"))
        >= 2,
        "both repairs to be posted as Events",
    )
    events = cluster.events("pro-monthly")
    assert [m for _, m in events if m.startswith("Timer ") and m.endswith("succeeded.")] == []
