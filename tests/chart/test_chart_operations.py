"""Operational details a platform team trips over (issue #22.11): hooks inside Helm's timeout
that clean up after failure, https public URLs behind a TLS-ending load balancer, pinned and
bounded backups, separate cloud identities for the app and the operator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.chart.helpers import Render, Tools, helm_template, parse

pytestmark = pytest.mark.integration

RenderFn = Callable[[str], Render]
HELM_DEFAULT_TIMEOUT = 300


def _render(tools: Tools, *sets: str) -> Render:
    result = helm_template(tools, sets=list(sets))
    assert result.returncode == 0, result.stderr
    return Render("custom", result.stdout, parse(result.stdout))


def test_the_migration_hook_fails_inside_helms_timeout_and_leaves_no_secret(
    render: RenderFn,
) -> None:
    r = render("default")
    job = r.one("Job", "fx-fluxus-migrations")
    assert job["spec"]["activeDeadlineSeconds"] < HELM_DEFAULT_TIMEOUT
    for kind, name in (
        ("Secret", "fx-fluxus-migrations-secrets"),
        ("ConfigMap", "fx-fluxus-migrations-config"),
        ("NetworkPolicy", "fx-fluxus-migrations"),
    ):
        policy = r.one(kind, name)["metadata"]["annotations"]["helm.sh/hook-delete-policy"]
        assert "hook-failed" in policy.split(","), kind
    # The failed Job itself stays for its logs (replaced by the next attempt).
    assert "hook-failed" not in job["metadata"]["annotations"]["helm.sh/hook-delete-policy"]


@pytest.mark.parametrize(
    ("sets", "expected"),
    [
        (["ingress.host=pay.example.tw"], "https://pay.example.tw"),
        (["ingress.host=pay.example.tw", "ingress.publicScheme=http"], "http://pay.example.tw"),
        (
            [
                "ingress.host=pay.example.tw",
                "ingress.publicScheme=http",
                "ingress.tls[0].secretName=t",
                "ingress.tls[0].hosts[0]=pay.example.tw",
            ],
            "https://pay.example.tw",
        ),
    ],
)
def test_public_urls_are_https_unless_told_otherwise(
    tools: Tools, sets: list[str], expected: str
) -> None:
    config = _render(tools, *sets).one("ConfigMap", "fx-fluxus-config")["data"]
    assert config["FLUXUS_PUBLIC_PAYMENT_URL"] == expected
    assert config["FLUXUS_DASHBOARD_URL"] == expected


def _backup_pod(r: Render) -> dict[str, Any]:
    job = r.one("CronJob", "fx-fluxus-backup")["spec"]["jobTemplate"]["spec"]
    assert job["activeDeadlineSeconds"] > 0
    return job["template"]["spec"]


def test_backups_run_a_pinned_image_with_a_deadline(tools: Tools) -> None:
    pod = _backup_pod(_render(tools, "backup.enabled=true"))
    image = pod["containers"][0]["image"]
    assert image.startswith("postgres:16.") and image.count(".") >= 1
    digest = "sha256:" + "ab" * 32
    pinned = _backup_pod(_render(tools, "backup.enabled=true", f"backup.image.digest={digest}"))
    assert pinned["containers"][0]["image"] == f"postgres@{digest}"


def test_the_operator_gets_its_own_cloud_identity(tools: Tools) -> None:
    r = _render(
        tools,
        "serviceAccount.annotations.iam\\.gke\\.io/gcp-service-account=app@p.iam",
        "serviceAccount.operatorAnnotations.iam\\.gke\\.io/gcp-service-account=op@p.iam",
    )
    app = r.one("ServiceAccount", "fx-fluxus")["metadata"]["annotations"]
    operator = r.one("ServiceAccount", "fx-fluxus-operator")["metadata"]["annotations"]
    assert app == {"iam.gke.io/gcp-service-account": "app@p.iam"}
    assert operator == {"iam.gke.io/gcp-service-account": "op@p.iam"}
