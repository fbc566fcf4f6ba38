"""The operator builds each renewal CronJob's pod from the chart's template (issues #19, #22.5):
the real chart rendered by helm, the real `fluxus operator` process, the emulated API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.orm import Session

from tests.chart.helpers import Tools, helm_template, parse, tools  # noqa: F401 - fixture
from tests.integration.operator.conftest import Cluster, running_operator
from tests.integration.operator.pgproxy import TcpProxy
from tests.support.kubeapi import KubeAPI

pytestmark = pytest.mark.integration

SPEC: dict[str, Any] = {
    "displayName": "Pro",
    "price": 990,
    "billingCycle": "monthly",
    "renewal": {"schedule": "0 * * * *"},
}
CHART_SETS = [
    "imagePullSecrets[0].name=regcred",
    "image.repository=registry.example/fluxus",
    "worker.image.tag=2.0.1",
    "renewal.nodeSelector.pool=batch",
    "renewal.tolerations[0].key=batch",
    "renewal.tolerations[0].operator=Exists",
]
SECRETS_A_RENEWAL_MUST_NOT_SEE = {
    "FLUXUS_JWT_SECRET",
    "FLUXUS_ECPAY_HASH_KEY",
    "FLUXUS_ECPAY_HASH_IV",
    "FLUXUS_ECPAY_CREDIT_CHECK_CODE",
    "FLUXUS_EINVOICE_HASH_KEY",
    "FLUXUS_EINVOICE_HASH_IV",
    "FLUXUS_DATA_ENCRYPTION_KEY",
    "FLUXUS_SMTP_PASSWORD",
}


@pytest.fixture
def chart_pod_template(tools: Tools, tmp_path: Path) -> Path:  # noqa: F811 - the fixture
    result = helm_template(tools, sets=CHART_SETS, namespace="billing")
    assert result.returncode == 0, result.stderr
    (configmap,) = [
        d
        for d in parse(result.stdout)
        if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-renewal-pod")
    ]
    path = tmp_path / "pod.yaml"
    path.write_text(configmap["data"]["pod.yaml"])
    return path


@pytest.fixture
def templated_operator(
    kube: KubeAPI, database_url: str, pg_proxy: TcpProxy, tmp_path: Path, chart_pod_template: Path
) -> Iterator[None]:
    args = ("--renewal-pod-template", str(chart_pod_template))
    with running_operator(kube, database_url, pg_proxy, tmp_path / "op.log", args):
        yield


@pytest.mark.usefixtures("templated_operator")
def test_a_renewal_cronjob_runs_the_charts_pod_with_only_database_and_redis(
    cluster: Cluster, session: Session, chart_pod_template: Path
) -> None:
    cluster.create_plan("pro-monthly", SPEC)
    cluster.wait_ready("pro-monthly", reason="Synced", generation=1)
    cronjob = cluster.cronjob("fluxus-renew-pro-monthly")
    assert cronjob is not None
    template = cronjob["spec"]["jobTemplate"]["spec"]["template"]
    pod = template["spec"]
    (container,) = pod["containers"]

    assert container["command"] == ["fluxus", "renew", "--plan", "pro-monthly"]
    assert container["image"] == "registry.example/fluxus:2.0.1"
    assert pod["imagePullSecrets"] == [{"name": "regcred"}]
    assert pod["serviceAccountName"] == "fx-fluxus"
    assert pod["automountServiceAccountToken"] is False
    assert pod["nodeSelector"] == {"pool": "batch"}
    assert pod["tolerations"] == [{"key": "batch", "operator": "Exists"}]
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]  # noqa: S108

    env = {e["name"]: e for e in container["env"]}
    assert not set(env) & SECRETS_A_RENEWAL_MUST_NOT_SEE
    assert env["FLUXUS_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == (
        "fx-fluxus-renewal-secrets"
    )
    assert env["FLUXUS_COMPONENT"]["value"] == "renewal"
    assert all("secretRef" not in source for source in container["envFrom"])
    # The chart's NetworkPolicy selects these labels; the operator adds its plan label.
    labels = template["metadata"]["labels"]
    assert labels["app.kubernetes.io/component"] == "renewal"
    assert labels["app.kubernetes.io/instance"] == "fx"
    assert labels["billing.fluxus.dev/plan"] == "pro-monthly"
    # Exactly the chart's pod, apart from the command the operator owns.
    chart = yaml.safe_load(chart_pod_template.read_text())
    assert {k: v for k, v in pod.items() if k != "containers"} == {
        k: v for k, v in chart["spec"].items() if k != "containers"
    }


def test_a_template_without_containers_is_refused_at_startup(
    kube: KubeAPI, database_url: str, pg_proxy: TcpProxy, tmp_path: Path
) -> None:
    broken = tmp_path / "pod.yaml"
    broken.write_text("spec: {restartPolicy: Never}\n")
    args = ("--renewal-pod-template", str(broken))
    with (
        pytest.raises(AssertionError, match="exited with 2"),
        running_operator(kube, database_url, pg_proxy, tmp_path / "op.log", args),
    ):
        pass
