"""spec.renewal.suspend and spec.renewal.timeZone (issue #22.5): an SRE pauses a plan's
renewals in the Plan, and the drift timer keeps them paused; the schedule runs in the plan's
zone. The real operator process against the emulated API."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.operator.conftest import WATCHED, Cluster, eventually, ready_condition

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("operator_process")]

CRONJOB = "fluxus-renew-pro-monthly"
SPEC: dict[str, Any] = {
    "displayName": "Pro",
    "price": 990,
    "billingCycle": "monthly",
    "renewal": {"schedule": "30 9 * * *", "suspend": True, "timeZone": "Asia/Taipei"},
}


def _cronjob_spec(cluster: Cluster) -> dict[str, Any]:
    cronjob = cluster.cronjob(CRONJOB)
    assert cronjob is not None
    spec: dict[str, Any] = cronjob["spec"]
    return spec


def test_a_paused_plan_stays_paused_until_the_plan_resumes_it(cluster: Cluster) -> None:
    cluster.create_plan("pro-monthly", SPEC)
    cluster.wait_ready("pro-monthly", reason="Synced", generation=1)
    spec = _cronjob_spec(cluster)
    assert spec["suspend"] is True
    assert spec["timeZone"] == "Asia/Taipei"
    assert spec["schedule"] == "30 9 * * *"

    # Someone resumes the CronJob by hand: the drift timer pauses it again, as the Plan says.
    cluster.batch.patch_namespaced_cron_job(
        CRONJOB,
        WATCHED,
        {"spec": {"suspend": False}},
        _content_type="application/merge-patch+json",
    )
    eventually(
        lambda: (
            _cronjob_spec(cluster)["suspend"] is True
            and cluster.cronjob(CRONJOB)["metadata"]["resourceVersion"]
        ),
        "the drift timer to keep the plan paused",
    )

    cluster.patch_plan("pro-monthly", {"renewal": {**SPEC["renewal"], "suspend": False}})
    cluster.wait_ready("pro-monthly", reason="Synced", generation=2)
    eventually(lambda: _cronjob_spec(cluster)["suspend"] is False, "the plan to resume")
    assert _cronjob_spec(cluster)["timeZone"] == "Asia/Taipei"


def test_a_plan_without_the_switches_runs_unpaused_in_utc(cluster: Cluster) -> None:
    cluster.create_plan("pro-monthly", {**SPEC, "renewal": {"schedule": "0 * * * *"}})
    cluster.wait_ready("pro-monthly", reason="Synced")
    spec = _cronjob_spec(cluster)
    assert (spec["suspend"], spec["timeZone"]) == (False, "Etc/UTC")


def test_an_unknown_time_zone_is_an_invalid_spec(cluster: Cluster) -> None:
    renewal = {"schedule": "0 * * * *", "timeZone": "Mars/Olympus_Mons"}
    cluster.create_plan("pro-monthly", {**SPEC, "renewal": renewal})
    plan = cluster.wait_ready("pro-monthly", status="False", reason="InvalidSpec")
    assert "renewal.timeZone" in ready_condition(plan)["message"]
    assert cluster.cronjob(CRONJOB) is None
