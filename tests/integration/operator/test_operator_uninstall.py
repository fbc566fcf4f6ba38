"""Uninstall never hangs (issue #22.4): the chart's pre-delete hook runs `fluxus plans
uninstall`; with the operator running every Plan is finalized (row archived, CronJob deleted),
and with the operator already gone the finalizer is dropped so nothing stays Terminating."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.db.models import Plan
from tests.integration.operator.conftest import FLUXUS, WATCHED, Cluster, running_operator
from tests.integration.operator.pgproxy import TcpProxy
from tests.support.kubeapi import KubeAPI

pytestmark = pytest.mark.integration

SPEC: dict[str, Any] = {
    "displayName": "Pro",
    "price": 990,
    "billingCycle": "monthly",
    "renewal": {"schedule": "0 * * * *"},
}
SLUGS = ("pro-monthly", "pro-yearly")


def _uninstall(kube: KubeAPI, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **kube.env()}
    return subprocess.run(
        [FLUXUS, "plans", "uninstall", "--namespace", WATCHED, "--timeout", str(timeout)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _active(session: Session, slug: str) -> bool:
    session.expire_all()
    row = session.scalars(select(Plan).where(Plan.slug == slug)).one()
    return bool(row.is_active)


def test_with_the_operator_running_every_plan_is_archived_and_its_cronjob_deleted(
    kube: KubeAPI,
    cluster: Cluster,
    database_url: str,
    pg_proxy: TcpProxy,
    tmp_path: Path,
    session: Session,
) -> None:
    with running_operator(kube, database_url, pg_proxy, tmp_path / "op.log"):
        for slug in SLUGS:
            cluster.create_plan(slug, SPEC)
            cluster.wait_ready(slug, reason="Synced")
        done = _uninstall(kube, timeout=30)
    assert done.returncode == 0, done.stderr
    for slug in SLUGS:
        assert cluster.plan(slug) is None
        assert cluster.cronjob(f"fluxus-renew-{slug}") is None
        assert _active(session, slug) is False
        assert f"plan/{WATCHED}/{slug} deleted by the operator" in done.stdout
    assert "released" not in done.stderr


def test_with_the_operator_gone_the_plans_are_released_instead_of_hanging(
    kube: KubeAPI, cluster: Cluster, database_url: str, pg_proxy: TcpProxy, tmp_path: Path
) -> None:
    with running_operator(kube, database_url, pg_proxy, tmp_path / "op.log"):
        cluster.create_plan("pro-monthly", SPEC)
        plan = cluster.wait_ready("pro-monthly", reason="Synced")
    assert "billing.fluxus.dev/finalizer" in plan["metadata"]["finalizers"]

    done = _uninstall(kube, timeout=2)
    assert done.returncode == 0, done.stderr
    assert cluster.plan("pro-monthly") is None
    assert f"plan/{WATCHED}/pro-monthly released without the operator" in done.stderr


def test_nothing_to_do_is_not_an_error(kube: KubeAPI) -> None:
    done = _uninstall(kube, timeout=1)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
