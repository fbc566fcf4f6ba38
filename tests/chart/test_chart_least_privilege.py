"""Least privilege in the cluster (issue #19): a NetworkPolicy on every pod the chart or the
operator starts, no ServiceAccount token where the API is not needed, a namespaced operator,
and renewal CronJobs pinned to the chart's pod."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from tests.chart.helpers import NAMESPACE, VARIANTS, Render, Tools, helm_template, parse
from tests.chart.netpol import Pod, allowed

pytestmark = pytest.mark.integration

RenderFn = Callable[[str], Render]
JWT_AND_ECPAY = {"FLUXUS_JWT_SECRET", "FLUXUS_ECPAY_HASH_KEY", "FLUXUS_ECPAY_HASH_IV"}
WITH_POLICIES = [v for v in VARIANTS if v != "minimal-values"]


def renewal_pod(r: Render) -> dict[str, Any]:
    """The pod template the chart hands the operator for its renewal CronJobs."""
    data = r.one("ConfigMap", "fx-fluxus-renewal-pod")["data"]["pod.yaml"]
    return yaml.safe_load(data)


def every_pod(r: Render) -> list[tuple[str, dict[str, str], dict[str, Any]]]:
    """(where, pod labels, pod spec) of every pod: workloads, hooks, CronJobs, renewals."""
    out = []
    for doc in r.docs:
        spec = doc.get("spec", {})
        if doc["kind"] in ("Deployment", "Job"):
            template = spec["template"]
        elif doc["kind"] == "CronJob":
            template = spec["jobTemplate"]["spec"]["template"]
        else:
            continue
        out.append(
            (
                f"{doc['kind']}/{doc['metadata']['name']}",
                template["metadata"]["labels"],
                template["spec"],
            )
        )
    if any(
        d["kind"] == "ConfigMap" and d["metadata"]["name"] == "fx-fluxus-renewal-pod"
        for d in r.docs
    ):
        template = renewal_pod(r)
        out.append(("renewal CronJob pod", template["metadata"]["labels"], template["spec"]))
    return out


@pytest.mark.parametrize("variant", WITH_POLICIES)
def test_every_pod_is_covered_by_a_network_policy_both_ways(variant: str, render: RenderFn) -> None:
    r = render(variant)
    pods = every_pod(r)
    kinds = {where.split("/")[0] for where, _, _ in pods}
    assert {"Deployment", "Job", "renewal CronJob pod"} <= kinds
    stranger = Pod({"app": "somebody-else"}, namespace="other")
    for where, labels, _ in pods:
        selecting = [
            p
            for p in r.kind("NetworkPolicy")
            if p["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
        ]
        assert selecting, f"{where} is selected by no NetworkPolicy"
        assert {t for p in selecting for t in p["spec"]["policyTypes"]} == {"Ingress", "Egress"}
        # Nothing from another namespace gets in, and the pod cannot call out to a stranger.
        me = Pod(labels, ports={"http": 8000})
        assert not allowed(r, stranger, me, 8000), where
        assert not allowed(r, me, stranger, 22), where


def test_backup_and_migration_pods_reach_only_dns_and_the_database(render: RenderFn) -> None:
    r = render("existing-secret-values")
    for name in ("fx-fluxus-backup", "fx-fluxus-migrations"):
        policy = r.one("NetworkPolicy", name)
        assert policy["spec"]["ingress"] == []
        ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}
        assert ports == {53, 5432}, name
    # The migration Job is a hook: its policy must exist before it, on a first install too.
    hook = r.one("NetworkPolicy", "fx-fluxus-migrations")["metadata"]["annotations"]
    job = r.one("Job", "fx-fluxus-migrations")["metadata"]["annotations"]
    assert int(hook["helm.sh/hook-weight"]) < int(job["helm.sh/hook-weight"])


@pytest.mark.parametrize("variant", VARIANTS)
def test_only_the_operator_mounts_a_service_account_token(variant: str, render: RenderFn) -> None:
    for where, _, pod in every_pod(render(variant)):
        # The operator, and the pre-delete hook that deletes Plans before it goes.
        expected = where in ("Deployment/fx-fluxus-operator", "Job/fx-fluxus-uninstall")
        assert pod["automountServiceAccountToken"] is expected, where


def test_the_operator_is_namespaced_by_default(render: RenderFn) -> None:
    r = render("default")
    role = r.one("Role", "fx-fluxus-operator")
    assert role["metadata"]["namespace"] == NAMESPACE
    assert r.one("RoleBinding", "fx-fluxus-operator")["roleRef"]["kind"] == "Role"
    # The only cluster-scoped grant is Kopf's read-only observation of namespaces and CRDs.
    for cluster_role in r.kind("ClusterRole"):
        for rule in cluster_role["rules"]:
            assert set(rule["verbs"]) <= {"list", "watch"}, cluster_role["metadata"]["name"]
            assert set(rule["resources"]) <= {"namespaces", "customresourcedefinitions"}
    config = r.one("ConfigMap", "fx-fluxus-config")["data"]
    assert config["FLUXUS_OPERATOR_NAMESPACE"] == NAMESPACE


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_renewal_pod_gets_no_jwt_or_ecpay_secret(variant: str, render: RenderFn) -> None:
    r = render(variant)
    if not r.kind("ConfigMap") or not any(
        d["metadata"]["name"] == "fx-fluxus-renewal-pod" for d in r.kind("ConfigMap")
    ):
        assert not any(
            d["kind"] == "Deployment" and "operator" in d["metadata"]["name"] for d in r.docs
        )
        return
    (container,) = renewal_pod(r)["spec"]["containers"]
    names = {e["name"] for e in container["env"]}
    assert {"FLUXUS_DATABASE_URL", "FLUXUS_REDIS_URL"} <= names
    assert not names & JWT_AND_ECPAY
    assert all("secretRef" not in source for source in container["envFrom"])


def test_the_renewal_pod_carries_what_a_private_registry_and_read_only_root_need(
    tools: Tools,
) -> None:
    sets = [
        "imagePullSecrets[0].name=regcred",
        "renewal.nodeSelector.pool=batch",
        "renewal.tolerations[0].key=batch",
        "renewal.tolerations[0].operator=Exists",
        "renewal.priorityClassName=fluxus-batch",
        "renewal.podLabels.team=billing",
        "worker.image.tag=9.9.9",
        "image.pullPolicy=Always",
    ]
    result = helm_template(tools, sets=sets)
    assert result.returncode == 0, result.stderr
    r = Render("renewal", result.stdout, parse(result.stdout))
    pod = renewal_pod(r)
    spec = pod["spec"]
    assert spec["imagePullSecrets"] == [{"name": "regcred"}]
    assert spec["serviceAccountName"] == "fx-fluxus"
    assert spec["nodeSelector"] == {"pool": "batch"}
    assert spec["tolerations"] == [{"key": "batch", "operator": "Exists"}]
    assert spec["priorityClassName"] == "fluxus-batch"
    assert pod["metadata"]["labels"]["team"] == "billing"
    (container,) = spec["containers"]
    assert container["image"].endswith(":9.9.9")
    assert container["imagePullPolicy"] == "Always"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]  # noqa: S108


def _policy(r: Render) -> dict[str, Any]:
    (policy,) = r.kind("ValidatingAdmissionPolicy")
    return policy


def test_an_admission_policy_pins_the_operators_cronjobs(render: RenderFn, tools: Tools) -> None:
    r = render("default")
    policy = _policy(r)
    (condition,) = policy["spec"]["matchConditions"]
    assert f"system:serviceaccount:{NAMESPACE}:fx-fluxus-operator" in condition["expression"]
    text = " ".join(v["expression"] for v in policy["spec"]["validations"])
    worker = next(d for d in r.kind("Deployment") if "worker" in d["metadata"]["name"])
    image = worker["spec"]["template"]["spec"]["containers"][0]["image"]
    for pinned in (
        f'"{image}"',
        '"fx-fluxus"',
        '"renew"',
        '"--plan"',
        '"fx-fluxus-renewal-secrets"',
    ):
        assert pinned in text
    (binding,) = r.kind("ValidatingAdmissionPolicyBinding")
    assert binding["spec"]["validationActions"] == ["Deny"]
    assert binding["spec"]["matchResources"]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": NAMESPACE
    }
    # A cluster without the API (before 1.30) gets no policy rather than a failed install.
    old = subprocess_render(tools, "1.29.0")
    assert "ValidatingAdmissionPolicy" not in old


def subprocess_render(tools: Tools, kube_version: str) -> str:
    import subprocess

    from tests.chart.helpers import CHART, KEYS_VALUES

    result = subprocess.run(
        [
            str(tools.helm),
            "template",
            "fx",
            str(CHART),
            "-n",
            NAMESPACE,
            "--kube-version",
            kube_version,
            "-f",
            str(KEYS_VALUES),
            "--set",
            "worker.autoscaling.mode=hpa",  # no KEDA API offered to this render
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_uninstall_hook_deletes_plans_with_its_own_short_lived_rights(render: RenderFn) -> None:
    r = render("default")
    job = r.one("Job", "fx-fluxus-uninstall")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-delete"
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][:2] == ["plans", "uninstall"]
    assert container["args"][container["args"].index("--namespace") + 1] == NAMESPACE
    # The wait fits inside Helm's default 5-minute hook timeout.
    timeout = float(container["args"][container["args"].index("--timeout") + 1])
    assert timeout < job["spec"]["activeDeadlineSeconds"] <= 300
    role = r.one("Role", "fx-fluxus-uninstall")
    assert role["rules"] == [
        {
            "apiGroups": ["billing.fluxus.dev"],
            "resources": ["plans"],
            "verbs": ["get", "list", "delete", "patch"],
        }
    ]
    for doc in (role, r.one("RoleBinding", "fx-fluxus-uninstall")):
        assert int(doc["metadata"]["annotations"]["helm.sh/hook-weight"]) < 0
    # The operator itself still cannot delete Plans.
    operator_rules = r.one("Role", "fx-fluxus-operator")["rules"]
    assert not any(
        "delete" in rule["verbs"] and "plans" in rule["resources"] for rule in operator_rules
    )
