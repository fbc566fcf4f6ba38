"""The renewal CronJob manifest and how drift in a live one is recognised."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fluxus_operator.cronjob import build_cronjob, contains, cronjob_drifted

from services.core.config import Settings
from services.core.domain.plan_spec import parse_plan_spec

pytestmark = pytest.mark.unit

PLAN = {
    "apiVersion": "billing.fluxus.dev/v1",
    "kind": "Plan",
    "metadata": {"name": "pro-monthly", "namespace": "billing", "uid": "1f0c-uid"},
}
SPEC = {
    "displayName": "Pro",
    "price": 990,
    "billingCycle": "monthly",
    "renewal": {"schedule": "15 */2 * * *"},
}


def _cronjob(**settings: Any) -> dict[str, Any]:
    spec = parse_plan_spec("pro-monthly", SPEC)
    return build_cronjob(spec, Settings(**settings), PLAN, "billing")


def _container(cronjob: dict[str, Any]) -> dict[str, Any]:
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert len(pod["containers"]) == 1
    return pod["containers"][0]


def test_the_cronjob_renews_its_plan_on_the_plans_schedule() -> None:
    cronjob = _cronjob(operator_image="registry.example/fluxus:1.2.3")
    assert cronjob["metadata"]["name"] == "fluxus-renew-pro-monthly"
    assert cronjob["metadata"]["namespace"] == "billing"
    assert cronjob["spec"]["schedule"] == "15 */2 * * *"
    container = _container(cronjob)
    assert container["command"] == ["fluxus", "renew", "--plan", "pro-monthly"]
    assert container["image"] == "registry.example/fluxus:1.2.3"


def test_runs_never_overlap_and_history_is_bounded() -> None:
    spec = _cronjob()["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["suspend"] is False
    assert 0 < spec["successfulJobsHistoryLimit"] <= 5
    assert 0 < spec["failedJobsHistoryLimit"] <= 5
    assert spec["startingDeadlineSeconds"] > 0


def test_the_plan_owns_its_cronjob() -> None:
    (owner,) = _cronjob()["metadata"]["ownerReferences"]
    assert owner == {
        "apiVersion": "billing.fluxus.dev/v1",
        "kind": "Plan",
        "name": "pro-monthly",
        "uid": "1f0c-uid",
        "controller": True,
        "blockOwnerDeletion": True,
    }


def test_environment_comes_from_the_configured_configmap_and_secret() -> None:
    container = _container(
        _cronjob(operator_env_secret="fluxus-env", operator_env_configmap="fluxus-config")
    )
    assert container["envFrom"] == [
        {"configMapRef": {"name": "fluxus-config"}},
        {"secretRef": {"name": "fluxus-env"}},
    ]
    assert "envFrom" not in _container(_cronjob())


def test_the_renewal_pod_runs_as_non_root_without_privileges() -> None:
    cronjob = _cronjob()
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["restartPolicy"] == "Never"
    security = _container(cronjob)["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}


def _as_served(cronjob: dict[str, Any]) -> dict[str, Any]:
    """What an API server hands back: the same object plus defaults and bookkeeping."""
    live = copy.deepcopy(cronjob)
    live["metadata"].update(uid="cj-uid", resourceVersion="42", generation=1)
    live["spec"]["jobTemplate"]["spec"]["template"]["spec"].update(
        dnsPolicy="ClusterFirst", schedulerName="default-scheduler"
    )
    _container(live).update(terminationMessagePath="/dev/termination-log")
    live["status"] = {"lastScheduleTime": "2026-11-26T04:00:00Z"}
    return live


def test_server_defaults_are_not_drift() -> None:
    desired = _cronjob()
    assert not cronjob_drifted(_as_served(desired), desired)


@pytest.mark.parametrize(
    "edit",
    [
        lambda cj: cj["spec"].update(schedule="* * * * *"),
        lambda cj: cj["spec"].update(suspend=True),
        lambda cj: cj["spec"].update(concurrencyPolicy="Allow"),
        lambda cj: _container(cj).update(image="someone/else:latest"),
        lambda cj: _container(cj).update(command=["sh", "-c", "true"]),
        lambda cj: cj["metadata"].update(ownerReferences=[]),
        lambda cj: cj["metadata"]["labels"].pop("billing.fluxus.dev/plan"),
    ],
)
def test_hand_edits_are_drift(edit: Any) -> None:
    desired = _cronjob()
    live = _as_served(desired)
    edit(live)
    assert cronjob_drifted(live, desired)


def test_contains_compares_lists_item_by_item() -> None:
    assert contains({"a": [{"x": 1, "y": 2}]}, {"a": [{"x": 1}]})
    assert not contains({"a": [{"x": 1}, {"x": 2}]}, {"a": [{"x": 1}]})
    assert not contains({"a": None}, {"a": {"x": 1}})
