"""The real operator process (Kopf + the kubernetes client) against the emulated API and
PostgreSQL: Plans become rows and renewal CronJobs, and drift and outages are repaired."""

from __future__ import annotations

import json
import re
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.db.models import Plan
from tests.integration.operator.conftest import (
    IMAGE,
    WATCHED,
    Cluster,
    eventually,
    ready_condition,
    running_operator,
)
from tests.integration.operator.pgproxy import TcpProxy
from tests.support.kubeapi import KubeAPI

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("operator_process")]

SPEC: dict[str, Any] = {
    "displayName": "Pro",
    "description": "For growing teams",
    "price": 990,
    "currency": "TWD",
    "billingCycle": "monthly",
    "features": ["API", "Reports"],
    "maxUsers": 15,
    "maxStorageGb": 100,
    "active": True,
    "popular": True,
    "sortOrder": 20,
    "trialDays": 14,
    "renewal": {"schedule": "0 * * * *", "graceDays": 7},
}
CRONJOB = "fluxus-renew-pro-monthly"
HANDLED = "billing.fluxus.dev/last-handled-configuration"


def _row(session: Session, slug: str) -> Plan | None:
    session.expire_all()
    return session.scalars(select(Plan).where(Plan.slug == slug)).one_or_none()


def _container(cronjob: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"][
        "containers"
    ][0]
    return container


def test_a_new_plan_gets_a_row_a_renewal_cronjob_and_a_ready_status(
    cluster: Cluster, session: Session
) -> None:
    cluster.create_plan("pro-monthly", SPEC)
    plan = cluster.wait_ready("pro-monthly", reason="Synced", generation=1)

    row = _row(session, "pro-monthly")
    assert row is not None
    assert (row.name, row.price, row.is_active, row.features) == (
        "Pro",
        Decimal(990),
        True,
        ["API", "Reports"],
    )
    assert plan["status"]["planId"] == str(row.id)
    assert plan["status"]["cronJob"] == CRONJOB
    assert plan["status"]["lastSyncTime"]
    assert "billing.fluxus.dev/finalizer" in plan["metadata"]["finalizers"]

    cronjob = cluster.cronjob(CRONJOB)
    assert cronjob is not None
    assert cronjob["spec"]["schedule"] == "0 * * * *"
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    (owner,) = cronjob["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["uid"]) == ("Plan", plan["metadata"]["uid"])
    container = _container(cronjob)
    assert container["command"] == ["fluxus", "renew", "--plan", "pro-monthly"]
    assert container["image"] == IMAGE
    assert {"secretRef": {"name": "fluxus-env"}} in container["envFrom"]
    assert {"configMapRef": {"name": "fluxus-config"}} in container["envFrom"]

    reasons = eventually(
        lambda: (
            {reason for reason, _ in cluster.events("pro-monthly")}
            >= {"PlanSynced", "CronJobCreated"}
            and cluster.events("pro-monthly")
        ),
        "Events about the row and the CronJob",
    )
    assert any("created" in message for _, message in reasons)


def test_a_new_price_and_schedule_reach_the_row_and_the_cronjob(
    cluster: Cluster, session: Session
) -> None:
    cluster.create_plan("pro-monthly", SPEC)
    first = cluster.wait_ready("pro-monthly", generation=1)

    cluster.patch_plan("pro-monthly", {"price": 1290, "renewal": {"schedule": "30 2 * * *"}})
    second = cluster.wait_ready("pro-monthly", generation=2)

    assert second["status"]["planId"] == first["status"]["planId"]
    row = _row(session, "pro-monthly")
    assert row is not None
    assert (row.price, row.renewal_schedule, row.source_generation) == (
        Decimal(1290),
        "30 2 * * *",
        2,
    )
    cronjob = eventually(
        lambda: (cj := cluster.cronjob(CRONJOB)) and cj["spec"]["schedule"] == "30 2 * * *" and cj,
        "the CronJob on the new schedule",
    )
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"


def test_deleting_a_plan_archives_its_row_and_removes_its_cronjob(
    cluster: Cluster, session: Session
) -> None:
    cluster.create_plan("pro-monthly", SPEC)
    cluster.wait_ready("pro-monthly")
    assert cluster.cronjob(CRONJOB) is not None

    cluster.delete_plan("pro-monthly")
    eventually(lambda: cluster.plan("pro-monthly") is None, "the finalizer to release the Plan")

    assert cluster.cronjob(CRONJOB) is None
    row = _row(session, "pro-monthly")
    assert row is not None, "the row stays for the subscriptions that reference it"
    assert (row.is_active, row.is_popular) == (False, False)


def test_an_invalid_spec_is_reported_once_and_a_fix_recovers(
    cluster: Cluster, session: Session, operator_process: subprocess.Popen[bytes]
) -> None:
    cluster.create_plan("pro-monthly", {**SPEC, "active": False, "popular": True})
    plan = cluster.wait_ready("pro-monthly", status="False", reason="InvalidSpec")

    assert "popular" in ready_condition(plan)["message"]
    assert _row(session, "pro-monthly") is None
    assert cluster.cronjob(CRONJOB) is None
    # Kopf marks this spec as handled (a permanent failure): it is not retried until edited.
    handled = json.loads(plan["metadata"]["annotations"][HANDLED])
    assert handled["spec"]["popular"] is True

    cluster.patch_plan("pro-monthly", {"popular": False})
    cluster.wait_ready("pro-monthly", reason="Synced", generation=2)
    row = _row(session, "pro-monthly")
    assert row is not None and row.is_active is False
    warnings = [reason for reason, _ in cluster.events("pro-monthly") if reason == "InvalidSpec"]
    assert warnings == ["InvalidSpec"]

    # SREs see both in the operator's /metrics, which promtool accepts.
    text = httpx.get(operator_process.metrics_url, timeout=5).text  # type: ignore[attr-defined]
    # The drift timer may also have met the invalid spec before the fix: at least one.
    failed = re.search(r'^fluxus_operator_reconciles_total\{outcome="permanent_error"\} (\S+)$',
                       text, re.MULTILINE)
    assert failed is not None and float(failed[1]) >= 1
    assert 'fluxus_operator_plan_ready{plan="pro-monthly"} 1.0' in text
    checked = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                             capture_output=True, check=False, timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_cronjob_deleted_or_edited_by_hand_is_put_back(
    cluster: Cluster, session: Session
) -> None:
    cluster.create_plan("pro-monthly", SPEC)
    cluster.wait_ready("pro-monthly")
    original = cluster.cronjob(CRONJOB)
    assert original is not None

    cluster.batch.delete_namespaced_cron_job(CRONJOB, WATCHED)
    restored = eventually(
        lambda: (
            (cj := cluster.cronjob(CRONJOB))
            and cj["metadata"]["uid"] != original["metadata"]["uid"]
            and cj
        ),
        "the drift timer to recreate the CronJob",
    )
    assert restored["spec"]["schedule"] == "0 * * * *"

    cluster.batch.patch_namespaced_cron_job(
        CRONJOB,
        WATCHED,
        {"spec": {"schedule": "* * * * *", "suspend": True}},
        _content_type="application/merge-patch+json",
    )
    eventually(
        lambda: (
            (cj := cluster.cronjob(CRONJOB))
            and cj["spec"]["schedule"] == "0 * * * *"
            and cj["spec"]["suspend"] is False
        ),
        "the drift timer to undo the hand edit",
    )


def test_a_plan_row_edited_in_the_database_is_put_back(cluster: Cluster, session: Session) -> None:
    cluster.create_plan("pro-monthly", SPEC)
    cluster.wait_ready("pro-monthly")
    row = _row(session, "pro-monthly")
    assert row is not None
    row.price = Decimal(1)
    row.is_active = False
    session.commit()

    eventually(
        lambda: (r := _row(session, "pro-monthly")) and r.price == Decimal(990) and r.is_active,
        "the drift timer to restore the row",
    )


def test_a_database_outage_is_reported_and_recovered_from(
    cluster: Cluster, session: Session, pg_proxy: TcpProxy
) -> None:
    pg_proxy.stop()
    cluster.create_plan("pro-monthly", SPEC)
    plan = cluster.wait_ready("pro-monthly", status="False", reason="DatabaseUnavailable")
    assert "database" in ready_condition(plan)["message"].lower()
    assert _row(session, "pro-monthly") is None

    pg_proxy.start()
    cluster.wait_ready("pro-monthly", reason="Synced", timeout=45)
    assert _row(session, "pro-monthly") is not None
    assert cluster.cronjob(CRONJOB) is not None


def test_plans_outside_the_operators_namespace_are_left_alone(
    cluster: Cluster, session: Session
) -> None:
    cluster.create_plan("elsewhere", SPEC, namespace="default")
    cluster.create_plan("pro-monthly", SPEC)
    cluster.wait_ready("pro-monthly")

    other = cluster.plan("elsewhere", namespace="default")
    assert other is not None
    assert "status" not in other and not other["metadata"].get("finalizers")
    assert _row(session, "elsewhere") is None


def test_the_operator_stops_cleanly_on_sigterm(operator_process: subprocess.Popen[bytes]) -> None:
    operator_process.terminate()
    assert operator_process.wait(timeout=15) == 0


def test_what_changed_while_the_operator_was_down_is_synced_when_it_resumes(
    cluster: Cluster,
    session: Session,
    operator_process: subprocess.Popen[bytes],
    kube: KubeAPI,
    database_url: str,
    pg_proxy: TcpProxy,
    tmp_path: Path,
) -> None:
    cluster.create_plan("pro-monthly", SPEC)
    cluster.wait_ready("pro-monthly", generation=1)
    operator_process.terminate()
    assert operator_process.wait(timeout=15) == 0

    # While nobody watches: a new price in the Plan, the CronJob gone, the row edited by hand.
    cluster.patch_plan("pro-monthly", {"price": 1290})
    cluster.batch.delete_namespaced_cron_job(CRONJOB, WATCHED)
    row = _row(session, "pro-monthly")
    assert row is not None
    row.is_active = False
    session.commit()

    with running_operator(kube, database_url, pg_proxy, tmp_path / "operator-again.log"):
        plan = cluster.wait_ready("pro-monthly", reason="Synced", generation=2, timeout=45)
        eventually(lambda: cluster.cronjob(CRONJOB), "the CronJob to be recreated")
        row = eventually(
            lambda: (r := _row(session, "pro-monthly")) and r.is_active and r,
            "the row to be put back",
        )

    assert (row.price, row.source_generation) == (Decimal(1290), 2)
    assert plan["status"]["planId"] == str(row.id)


def test_a_plan_deleted_while_the_database_is_down_goes_once_its_row_is_archived(
    cluster: Cluster, session: Session, pg_proxy: TcpProxy
) -> None:
    cluster.create_plan("pro-monthly", SPEC)
    cluster.wait_ready("pro-monthly")
    pg_proxy.stop()

    cluster.delete_plan("pro-monthly")
    # The finalizer holds the Plan while its row cannot be archived.
    eventually(
        lambda: any(
            "database" in message.lower() for _reason, message in cluster.events("pro-monthly")
        ),
        "a warning that the database is unavailable",
    )
    held = cluster.plan("pro-monthly")
    assert held is not None and held["metadata"].get("deletionTimestamp")
    # Nothing is half-done: the row cannot be archived, so the CronJob is not deleted either.
    assert cluster.cronjob(CRONJOB) is not None
    row = _row(session, "pro-monthly")
    assert row is not None and row.is_active is True

    pg_proxy.start()
    eventually(lambda: cluster.plan("pro-monthly") is None, "the finalizer to let go", 60)
    row = _row(session, "pro-monthly")
    assert row is not None and row.is_active is False
    assert cluster.cronjob(CRONJOB) is None
