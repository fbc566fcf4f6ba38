"""`operator.clusterWide` (issue #22.11): renewal CronJobs then run in every Plan's namespace,
but the chart creates what their pods use only in its own. The install notes must name every
object the renewal pod template takes from its namespace, or a platform team following them
gets renewal Jobs that never start a pod (a missing ServiceAccount) or never pull one."""

from __future__ import annotations

import subprocess
from typing import Any

import yaml

from tests.chart.helpers import CHART, KEYS_VALUES, NAMESPACE, RELEASE, Tools, helm_template, parse

SETS = (
    "operator.clusterWide=true",
    "imagePullSecrets[0].name=regcred",
    "imagePullSecrets[1].name=mirror-pull",
)


def _renewal_pod(tools: Tools) -> dict[str, Any]:
    rendered = helm_template(tools, sets=SETS)
    assert rendered.returncode == 0, rendered.stderr
    (config,) = [d for d in parse(rendered.stdout)
                 if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-renewal-pod")]
    return yaml.safe_load(config["data"]["pod.yaml"])["spec"]


def _namespaced_references(pod: dict[str, Any]) -> set[str]:
    """Names of the ServiceAccount, Secrets and ConfigMaps the pod reads from its namespace."""
    names = {pod["serviceAccountName"]} | {s["name"] for s in pod.get("imagePullSecrets", [])}
    for container in pod["containers"]:
        for source in container.get("envFrom", []):
            names |= {ref["name"] for ref in source.values()}
        for env in container.get("env", []):
            names |= {ref["name"] for ref in env.get("valueFrom", {}).values() if "name" in ref}
    return names


def _notes(tools: Tools) -> str:
    # `helm template` never renders NOTES.txt; a client-side dry-run install does, offline.
    # (It takes no --api-versions, so the worker scales by HPA here: KEDA needs its API.)
    cmd = [str(tools.helm), "install", RELEASE, str(CHART), "--namespace", NAMESPACE,
           "--dry-run=client", "--values", str(KEYS_VALUES), "--set", "worker.autoscaling.mode=hpa"]
    for item in SETS:
        cmd += ["--set", item]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.split("\nNOTES:\n", 1)[1]


def test_the_notes_name_everything_a_renewal_pod_needs_in_a_plans_namespace(tools: Tools) -> None:
    references = _namespaced_references(_renewal_pod(tools))
    assert {f"{RELEASE}-fluxus", "regcred", "mirror-pull"} <= references
    notes = _notes(tools)
    (note,) = [block for block in notes.split("\n\n") if "operator.clusterWide is set" in block]
    missing = [name for name in sorted(references) if f'"{name}"' not in note]
    assert not missing, f"the clusterWide note does not name {missing}:\n{note}"
    assert f'keep Plans in\n"{NAMESPACE}"' in note
