"""NetworkPolicies for a cluster whose ingress controller and Prometheus do not live in the
namespaces the defaults assume (`ingress-nginx`, `monitoring`; issue #22.11): the two selectors
in values move who may reach the public ports and the metrics ports, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.chart.helpers import Render, Tools, helm_template, parse
from tests.chart.netpol import Pod, allowed, pod_of

pytestmark = pytest.mark.integration

PUBLIC = ("api", "payment", "ui")


def _in(namespace: str) -> Pod:
    return Pod({"app.kubernetes.io/name": "anything"}, namespace=namespace)


def _render(tools: Tools, tmp_path: Path, values: dict | None = None) -> Render:
    files = []
    if values is not None:
        path = tmp_path / "values.yaml"
        path.write_text(yaml.safe_dump(values))
        files.append(path)
    result = helm_template(tools, files)
    assert result.returncode == 0, result.stderr
    return Render("custom", result.stdout, parse(result.stdout))


def _deployments(r: Render) -> dict[str, Pod]:
    return {d["metadata"]["labels"]["app.kubernetes.io/component"]: pod_of(d)
            for d in r.kind("Deployment")}


def _selector(namespace: str) -> dict:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
            "podSelector": {}}


def test_the_ingress_controller_and_prometheus_namespaces_follow_the_values(
    tools: Tools, tmp_path: Path
) -> None:
    default_render = _render(tools, tmp_path)
    default = _deployments(default_render)
    moved_render = _render(tools, tmp_path, {"networkPolicy": {
        "ingressController": _selector("traefik"), "monitoring": _selector("observability")}})
    moved = _deployments(moved_render)

    for component in PUBLIC:
        pod = moved[component]
        http = pod.ports["http"]
        # The defaults admit ingress-nginx; moved, only the named namespace gets in.
        assert allowed(default_render, _in("ingress-nginx"), default[component], http)
        assert allowed(moved_render, _in("traefik"), pod, http), component
        assert not allowed(moved_render, _in("ingress-nginx"), pod, http), component
        # The ingress controller still reaches no metrics port.
        assert not allowed(moved_render, _in("traefik"), pod, pod.ports["metrics"]), component

    scraped = {component: pod for component, pod in moved.items() if "metrics" in pod.ports}
    assert set(PUBLIC) | {"worker"} <= scraped.keys()
    for component, pod in scraped.items():
        assert allowed(moved_render, _in("observability"), pod, pod.ports["metrics"]), component
        assert not allowed(moved_render, _in("monitoring"), pod, pod.ports["metrics"]), component
    # Prometheus scrapes; it does not get to call the API.
    assert not allowed(moved_render, _in("observability"), moved["api"], moved["api"].ports["http"])
