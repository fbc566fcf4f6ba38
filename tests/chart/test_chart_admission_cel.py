"""The chart's ValidatingAdmissionPolicy decides as intended (issue #22): each CEL expression
evaluated by a real CEL interpreter against the CronJob the operator builds from the chart's
renewal pod template — admitted — and against CronJobs an attacker holding the operator's
token would send — each refused with its own message."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from fluxus_operator.cronjob import build_cronjob

from services.core.config import Settings
from services.core.domain.plan_spec import parse_plan_spec
from tests.chart.admission import review
from tests.chart.helpers import NAMESPACE, Render
from tests.chart.test_chart_least_privilege import renewal_pod

pytestmark = pytest.mark.integration

RenderFn = Callable[[str], Render]
OPERATOR = f"system:serviceaccount:{NAMESPACE}:fx-fluxus-operator"
PLAN = {
    "apiVersion": "billing.fluxus.dev/v1",
    "kind": "Plan",
    "metadata": {"name": "pro-monthly", "namespace": NAMESPACE, "uid": "1f0c-uid"},
}
SPEC = {"displayName": "Pro", "price": 990, "billingCycle": "monthly",
        "renewal": {"schedule": "15 */2 * * *"}}


@pytest.fixture
def chart(render: RenderFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the rendered policy, the CronJob the operator builds with the rendered pod template)."""
    r = render("default")
    (policy,) = r.kind("ValidatingAdmissionPolicy")
    spec = parse_plan_spec("pro-monthly", SPEC)
    cronjob = build_cronjob(spec, Settings(), PLAN, NAMESPACE, pod_template=renewal_pod(r))
    return policy, cronjob


def _pod(cronjob: dict[str, Any]) -> dict[str, Any]:
    return cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def _secret_env(name: str) -> dict[str, Any]:
    return {"name": "STOLEN", "valueFrom": {"secretKeyRef": {"name": name, "key": "k"}}}


# Each: what the attacker changes in the operator's own CronJob, and the message that refuses it.
TAMPERED: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "another image": (
        lambda pod: pod["containers"][0].update(image="docker.io/attacker/miner:latest"),
        "renewal CronJobs run the chart's image",
    ),
    "a second container": (
        lambda pod: pod["containers"].append({"name": "x", "image": "busybox"}),
        "a renewal pod runs one container",
    ),
    "an init container": (
        lambda pod: pod.update(initContainers=[{"name": "x", "image": "busybox"}]),
        "a renewal pod runs one container",
    ),
    "the operator's service account": (
        lambda pod: pod.update(serviceAccountName="fx-fluxus-operator"),
        "renewal pods use the app ServiceAccount without a token",
    ),
    "a mounted token": (
        lambda pod: pod.update(automountServiceAccountToken=True),
        "renewal pods use the app ServiceAccount without a token",
    ),
    "a shell": (
        lambda pod: pod["containers"][0].update(command=["sh", "-c", "env"]),
        "renewal pods run `fluxus renew --plan <slug>` only",
    ),
    "extra args": (
        lambda pod: pod["containers"][0].update(args=["--all"]),
        "renewal pods run `fluxus renew --plan <slug>` only",
    ),
    "the API's secret by key": (
        lambda pod: pod["containers"][0]["env"].append(_secret_env("fx-fluxus-api-secrets")),
        "renewal pods read credentials from fx-fluxus-renewal-secrets only",
    ),
    "a whole secret": (
        lambda pod: pod["containers"][0]["envFrom"].append(
            {"secretRef": {"name": "fx-fluxus-renewal-secrets"}}
        ),
        "renewal pods read credentials from fx-fluxus-renewal-secrets only",
    ),
    "a host path": (
        lambda pod: pod["volumes"].append({"name": "root", "hostPath": {"path": "/"}}),
        "renewal pods mount emptyDir volumes only",
    ),
    "a secret volume": (
        lambda pod: pod["volumes"].append({"name": "s", "secret": {"secretName": "other"}}),
        "renewal pods mount emptyDir volumes only",
    ),
    "the host network": (
        lambda pod: pod.update(hostNetwork=True),
        "renewal pods stay off the host network",
    ),
    "a privileged container": (
        lambda pod: pod["containers"][0]["securityContext"].update(privileged=True),
        "renewal pods run unprivileged",
    ),
    "privilege escalation": (
        lambda pod: pod["containers"][0]["securityContext"].pop("allowPrivilegeEscalation"),
        "renewal pods run unprivileged",
    ),
    "the host's processes": (
        lambda pod: pod.update(hostPID=True),
        "renewal pods run unprivileged",
    ),
}


def test_the_operators_own_renewal_cronjob_is_admitted(chart: Any) -> None:
    policy, cronjob = chart
    for operation in ("CREATE", "UPDATE"):
        verdict = review(policy, cronjob, OPERATOR, operation)
        assert verdict.applies and verdict.admitted, verdict.denied


@pytest.mark.parametrize("change", sorted(TAMPERED))
def test_a_tampered_cronjob_from_the_operator_is_refused(chart: Any, change: str) -> None:
    policy, cronjob = chart
    tamper, message = TAMPERED[change]
    bad = copy.deepcopy(cronjob)
    tamper(_pod(bad))
    verdict = review(policy, bad, OPERATOR)
    assert verdict.applies
    assert any(denial.startswith(message) for denial in verdict.denied), verdict.denied
    # The policy names what is wrong, not every rule at once.
    assert len(verdict.denied) == 1, verdict.denied


def test_cronjobs_from_anyone_else_are_not_this_policys_business(chart: Any) -> None:
    policy, cronjob = chart
    bad = copy.deepcopy(cronjob)
    _pod(bad)["containers"][0]["image"] = "docker.io/attacker/miner:latest"
    verdict = review(policy, bad, f"system:serviceaccount:{NAMESPACE}:someone-else")
    assert not verdict.applies
