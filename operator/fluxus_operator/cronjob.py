"""The renewal CronJob of a plan, built as a plain manifest (pure; no API calls)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from services.core.config import Settings
from services.core.domain.plan_spec import PlanSpec

CRONJOB_PREFIX = "fluxus-renew-"
RUN_AS = 10001
# A missed run (operator or controller down) is still worth starting up to this late; the
# renew command only enqueues what is due, so a late run is harmless.
STARTING_DEADLINE_SECONDS = 600
HISTORY_LIMIT = 3
MANAGED_BY = "fluxus-operator"


def cronjob_name(slug: str) -> str:
    return f"{CRONJOB_PREFIX}{slug}"


def owner_reference(owner: Mapping[str, Any]) -> dict[str, Any]:
    """A controller reference to the Plan, so Kubernetes deletes the CronJob with it."""
    meta = owner["metadata"]
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": meta["name"],
        "uid": meta.get("uid", ""),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _env_from(settings: Settings) -> list[dict[str, Any]]:
    sources: list[dict[str, Any]] = []
    if settings.operator_env_configmap:
        sources.append({"configMapRef": {"name": settings.operator_env_configmap}})
    if settings.operator_env_secret:
        sources.append({"secretRef": {"name": settings.operator_env_secret}})
    return sources


def _container(spec: PlanSpec, settings: Settings) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "renew",
        "image": settings.operator_image,
        "command": renew_command(spec.slug),
        "securityContext": {
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "resources": {
            "requests": {"cpu": "50m", "memory": "128Mi"},
            "limits": {"memory": "256Mi"},
        },
    }
    env_from = _env_from(settings)
    if env_from:
        container["envFrom"] = env_from
    return container


def renew_command(slug: str) -> list[str]:
    return ["fluxus", "renew", "--plan", slug]


def _pod_from_template(
    spec: PlanSpec, template: Mapping[str, Any], labels: dict[str, str]
) -> dict[str, Any]:
    """The chart's pod template with this plan's command; everything else stays the chart's
    (image, pull secrets, service account, credentials, scheduling, /tmp)."""
    pod_spec = copy.deepcopy(dict(template["spec"]))
    pod_spec["restartPolicy"] = "Never"
    pod_spec["containers"][0]["command"] = renew_command(spec.slug)
    pod_spec["containers"][0].pop("args", None)
    meta = template.get("metadata") or {}
    pod_meta: dict[str, Any] = {"labels": {**labels, **(meta.get("labels") or {})}}
    if meta.get("annotations"):
        pod_meta["annotations"] = dict(meta["annotations"])
    return {"metadata": pod_meta, "spec": pod_spec}


def _builtin_pod(spec: PlanSpec, settings: Settings, labels: dict[str, str]) -> dict[str, Any]:
    """Without a template (outside the chart): a locked-down pod with the env sources named
    by FLUXUS_OPERATOR_ENV_*."""
    pod_spec = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [_container(spec, settings)],
    }
    return {"metadata": {"labels": labels}, "spec": pod_spec}


def validate_pod_template(template: Any) -> Mapping[str, Any]:
    """A PodTemplateSpec with at least one container, or ValueError saying what is wrong."""
    if not isinstance(template, Mapping) or not isinstance(template.get("spec"), Mapping):
        raise ValueError("the renewal pod template must be a PodTemplateSpec with a `spec`")
    containers = template["spec"].get("containers")
    if not isinstance(containers, list) or not containers:
        raise ValueError("the renewal pod template needs spec.containers (the renew container)")
    return template


def build_cronjob(
    spec: PlanSpec,
    settings: Settings,
    owner: Mapping[str, Any],
    namespace: str,
    pod_template: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The batch/v1 CronJob that runs `fluxus renew --plan <slug>` on the plan's schedule,
    its pod from ``pod_template`` (the chart's) when given."""
    labels = {
        "app.kubernetes.io/name": "fluxus",
        "app.kubernetes.io/component": "renewal",
        "app.kubernetes.io/managed-by": MANAGED_BY,
        "billing.fluxus.dev/plan": spec.slug,
    }
    if pod_template is not None:
        pod = _pod_from_template(spec, pod_template, labels)
    else:
        pod = _builtin_pod(spec, settings, labels)
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {
            "name": cronjob_name(spec.slug),
            "namespace": namespace,
            "labels": labels,
            "ownerReferences": [owner_reference(owner)],
        },
        "spec": {
            "schedule": spec.schedule,
            "timeZone": spec.renewal_time_zone,
            # From the Plan: the drift check keeps a paused plan paused, and resumes it only
            # when the Plan says so.
            "suspend": spec.renewal_suspended,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": STARTING_DEADLINE_SECONDS,
            "successfulJobsHistoryLimit": HISTORY_LIMIT,
            "failedJobsHistoryLimit": HISTORY_LIMIT,
            "jobTemplate": {
                "metadata": {"labels": labels},
                "spec": {
                    "backoffLimit": 2,
                    "activeDeadlineSeconds": 1800,
                    "ttlSecondsAfterFinished": 86400,
                    "template": pod,
                },
            },
        },
    }


def contains(actual: Any, desired: Any) -> bool:
    """Whether ``actual`` holds everything ``desired`` says (the API server adds defaults).

    Dicts may carry extra keys; lists must match item by item; scalars must be equal.
    """
    if isinstance(desired, dict):
        return isinstance(actual, dict) and all(
            contains(actual.get(key), value) for key, value in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(desired)
            and all(contains(a, d) for a, d in zip(actual, desired, strict=True))
        )
    return bool(actual == desired)


def cronjob_drifted(actual: dict[str, Any], desired: dict[str, Any]) -> bool:
    """Whether a live CronJob no longer matches what the operator wants (edited by hand)."""
    wanted_meta = {
        "labels": desired["metadata"]["labels"],
        "ownerReferences": desired["metadata"]["ownerReferences"],
    }
    return not (
        contains(actual.get("metadata", {}), wanted_meta)
        and contains(actual.get("spec", {}), desired["spec"])
    )
