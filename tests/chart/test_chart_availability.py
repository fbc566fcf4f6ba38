"""Probes, shutdown, high availability and Prometheus Operator labels (issue #22.6-8)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from services.api.cli import GRACEFUL_TIMEOUT_SECONDS as API_GRACEFUL
from services.payment.cli import GRACEFUL_TIMEOUT_SECONDS as PAYMENT_GRACEFUL
from services.worker.registry import JOBS
from tests.chart.helpers import VARIANTS, Render, Tools, helm_template, parse

pytestmark = pytest.mark.integration

RenderFn = Callable[[str], Render]


def deployments(r: Render, component: str) -> list[dict[str, Any]]:
    return [
        d
        for d in r.kind("Deployment")
        if d["metadata"]["labels"]["app.kubernetes.io/component"] == component
    ]


def test_service_monitors_keep_the_apps_own_service_and_endpoint_labels(tools: Tools) -> None:
    result = helm_template(tools, sets=["monitoring.enabled=true"])
    assert result.returncode == 0, result.stderr
    monitors = [d for d in parse(result.stdout) if d["kind"] == "ServiceMonitor"]
    assert len(monitors) == 6
    for monitor in monitors:
        assert all(e["honorLabels"] is True for e in monitor["spec"]["endpoints"])


@pytest.mark.parametrize(
    ("component", "graceful"), [("api", API_GRACEFUL), ("payment", PAYMENT_GRACEFUL)]
)
def test_http_servers_drain_before_the_kubelet_kills_them(
    component: str, graceful: int, render: RenderFn
) -> None:
    (deployment,) = deployments(render("default"), component)
    pod = deployment["spec"]["template"]["spec"]
    pre_stop = pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    # preStop, then gunicorn's graceful shutdown, must both fit before SIGKILL.
    assert pod["terminationGracePeriodSeconds"] > int(pre_stop[1]) + graceful


@pytest.mark.parametrize("variant", VARIANTS)
def test_workers_outlive_their_longest_job_on_shutdown(variant: str, render: RenderFn) -> None:
    longest = max(job.timeout for job in JOBS.values())
    workers = deployments(render(variant), "worker")
    assert workers
    for worker in workers:
        assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > longest


def test_api_payment_and_workers_spread_across_zones_and_nodes(render: RenderFn) -> None:
    r = render("default")
    for component in ("api", "payment", "worker"):
        for deployment in deployments(r, component):
            template = deployment["spec"]["template"]
            spread = template["spec"]["topologySpreadConstraints"]
            assert {c["topologyKey"] for c in spread} == {
                "topology.kubernetes.io/zone",
                "kubernetes.io/hostname",
            }
            for constraint in spread:
                # It counts this component's own pods (this queue group's, for workers).
                selector = constraint["labelSelector"]["matchLabels"]
                assert selector.items() <= template["metadata"]["labels"].items()
                assert selector == deployment["spec"]["selector"]["matchLabels"]
                assert constraint["whenUnsatisfiable"] == "ScheduleAnyway"
    for component in ("scheduler", "operator"):
        for deployment in deployments(r, component):
            assert "topologySpreadConstraints" not in deployment["spec"]["template"]["spec"]


HA_SETS = [
    "{c}.priorityClassName=fluxus-critical",
    "{c}.podLabels.team=billing",
    "{c}.podAnnotations.note=hello",
    "{c}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
    ".nodeSelectorTerms[0].matchExpressions[0].key=pool",
    "{c}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
    ".nodeSelectorTerms[0].matchExpressions[0].operator=Exists",
    "{c}.topologySpreadConstraints[0].maxSkew=2",
    "{c}.topologySpreadConstraints[0].topologyKey=kubernetes.io/hostname",
    "{c}.topologySpreadConstraints[0].whenUnsatisfiable=DoNotSchedule",
    "{c}.lifecycle.preStop.exec.command[0]=/bin/true",
    "{c}.extraVolumes[0].name=ca",
    "{c}.extraVolumes[0].configMap.name=corp-ca",
    "{c}.extraVolumeMounts[0].name=ca",
    "{c}.extraVolumeMounts[0].mountPath=/etc/ssl/corp",
    "{c}.extraEnv[0].name=SSL_CERT_DIR",
    "{c}.extraEnv[0].value=/etc/ssl/corp",
]


@pytest.mark.parametrize("component", ["api", "payment", "worker", "scheduler", "operator", "ui"])
def test_the_schema_accepts_the_ha_keys_and_they_reach_the_pod(
    component: str, tools: Tools
) -> None:
    result = helm_template(tools, sets=[s.format(c=component) for s in HA_SETS])
    assert result.returncode == 0, result.stderr
    r = Render(component, result.stdout, parse(result.stdout))
    for deployment in deployments(r, component):
        template = deployment["spec"]["template"]
        pod = template["spec"]
        container = pod["containers"][0]
        assert pod["priorityClassName"] == "fluxus-critical"
        assert template["metadata"]["labels"]["team"] == "billing"
        assert template["metadata"]["annotations"]["note"] == "hello"
        assert pod["affinity"]["nodeAffinity"]
        (spread,) = pod["topologySpreadConstraints"]
        assert spread["maxSkew"] == 2
        assert (
            spread["labelSelector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
        )
        assert container["lifecycle"] == {"preStop": {"exec": {"command": ["/bin/true"]}}}
        assert {"name": "ca", "configMap": {"name": "corp-ca"}} in pod["volumes"]
        assert {"name": "ca", "mountPath": "/etc/ssl/corp"} in container["volumeMounts"]
        assert {"name": "SSL_CERT_DIR", "value": "/etc/ssl/corp"} in container["env"]
        # The pod's selector labels are the chart's: extra labels never break the Service.
        assert deployment["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == (
            component
        )
