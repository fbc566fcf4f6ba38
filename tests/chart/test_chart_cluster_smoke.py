"""Smoke test: the real kubectl applies the default render and the sample Plans to the emulator."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.chart.helpers import NAMESPACE, REPO, Render, Tools
from tests.support.kubeapi import KubeAPI

pytestmark = pytest.mark.integration

# The chart's ScaledObjects need KEDA's CRDs; register stand-ins (the emulator checks no schema).
KEDA_KINDS = {"scaledobjects": "ScaledObject", "triggerauthentications": "TriggerAuthentication"}
ADMISSION_KINDS = {
    "validatingadmissionpolicies": "ValidatingAdmissionPolicy",
    "validatingadmissionpolicybindings": "ValidatingAdmissionPolicyBinding",
}


def kubectl(tools: Tools, kube: KubeAPI, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tools.kubectl), "--kubeconfig", str(kube.kubeconfig_path), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_default_render_and_sample_plans_apply_cleanly(
    render: Callable[[str], Render], tools: Tools, tmp_path: Path
) -> None:
    manifest = tmp_path / "fluxus.yaml"
    manifest.write_text(render("default").text)
    with KubeAPI(workdir=tmp_path, namespace=NAMESPACE) as kube:
        for plural, kind in KEDA_KINDS.items():
            kube.register_crd(
                {
                    "kind": "CustomResourceDefinition",
                    "metadata": {"name": f"{plural}.keda.sh"},
                    "spec": {
                        "group": "keda.sh",
                        "scope": "Namespaced",
                        "names": {"kind": kind, "plural": plural},
                        "versions": [{"name": "v1alpha1", "served": True, "storage": True}],
                    },
                }
            )
        # The emulator serves no admission policies: registered here like the KEDA kinds.
        for plural, kind in ADMISSION_KINDS.items():
            kube.register_crd(
                {
                    "kind": "CustomResourceDefinition",
                    "metadata": {"name": f"{plural}.admissionregistration.k8s.io"},
                    "spec": {
                        "group": "admissionregistration.k8s.io",
                        "scope": "Cluster",
                        "names": {"kind": kind, "plural": plural},
                        "versions": [{"name": "v1", "served": True, "storage": True}],
                    },
                }
            )
        # The emulator has no OpenAPI document for client-side validation.
        applied = kubectl(tools, kube, "apply", "--validate=false", "-f", str(manifest))
        assert applied.returncode == 0, applied.stdout + applied.stderr
        again = kubectl(tools, kube, "apply", "--validate=false", "-f", str(manifest))
        assert again.returncode == 0, again.stderr
        assert "created" not in again.stdout  # idempotent: everything already exists

        expected = {doc["metadata"]["name"] for doc in render("default").kind("Deployment")}
        listed = kubectl(tools, kube, "get", "deploy", "-n", NAMESPACE, "-o", "name")
        assert {line.split("/", 1)[1] for line in listed.stdout.split()} == expected

        # The CRD created through the API serves Plans; kubectl finds them by short name.
        samples = kubectl(
            tools,
            kube,
            "apply",
            "--validate=false",
            "-n",
            NAMESPACE,
            "-f",
            str(REPO / "k8s/samples"),
        )
        assert samples.returncode == 0, samples.stderr
        plans = kubectl(tools, kube, "get", "pl", "-n", NAMESPACE, "-o", "name")
        assert len(plans.stdout.split()) == 5
        plan = kube.get("billing.fluxus.dev/v1/plans", NAMESPACE, "pro-monthly")
        assert plan is not None and plan["spec"]["price"] == 990
        # No checks of uid/resourceVersion/generation here: the emulator writes those itself on
        # every create and write, so they would test tests/support/kubeapi.py, not the chart.

        patched = kubectl(
            tools,
            kube,
            "patch",
            "plan",
            "pro-monthly",
            "-n",
            NAMESPACE,
            "--type=merge",
            "-p",
            '{"spec": {"price": 1090}}',
        )
        assert patched.returncode == 0, patched.stderr
        after = kube.get("billing.fluxus.dev/v1/plans", NAMESPACE, "pro-monthly")
        assert after is not None and after["spec"]["price"] == 1090

        # The README's plan commands, as written there.
        assert kubectl(tools, kube, "get", "plans", "-n", NAMESPACE).returncode == 0
        deleted = kubectl(tools, kube, "delete", "plan", "pro-monthly", "-n", NAMESPACE)
        assert deleted.returncode == 0, deleted.stderr
        assert kube.get("billing.fluxus.dev/v1/plans", NAMESPACE, "pro-monthly") is None
