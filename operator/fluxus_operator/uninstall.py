"""Letting go of Plans before the operator is removed (a Helm pre-delete hook).

A Plan carries the operator's finalizer; without a running operator its deletion never
finishes, and `helm uninstall` or deleting the namespace leaves Plans (and the namespace)
Terminating. This deletes every Plan while the operator still runs, so it archives each row
and deletes each CronJob, and waits. Past the deadline (the operator is already gone), it drops
the finalizer of what is left so nothing hangs, and says which plans were not archived.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from fluxus_operator.handlers import FINALIZER, PLURAL
from fluxus_operator.manifests import GROUP, VERSION

MERGE_PATCH = "application/merge-patch+json"


@dataclass(frozen=True)
class Outcome:
    finalized: list[str]  # deleted by the operator: rows archived, CronJobs gone
    released: list[str]  # finalizer dropped without the operator: rows not archived


def _plans(api: client.CustomObjectsApi, namespaces: Iterable[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for namespace in namespaces:
        if namespace:
            listed = api.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)
        else:
            listed = api.list_cluster_custom_object(GROUP, VERSION, PLURAL)
        found.extend(listed.get("items", []))
    return found


def _key(plan: dict[str, Any]) -> str:
    return f"{plan['metadata']['namespace']}/{plan['metadata']['name']}"


def _ignore_missing(call: Callable[[], Any]) -> None:
    try:
        call()
    except ApiException as exc:
        if exc.status != 404:
            raise


def release_plans(
    api: client.CustomObjectsApi,
    namespaces: Iterable[str],
    timeout: float,
    interval: float = 1.0,
) -> Outcome:
    """Delete every Plan in `namespaces` ("" = all), wait for the operator, then let go."""
    namespaces = list(namespaces)
    plans = _plans(api, namespaces)
    for plan in plans:
        meta = plan["metadata"]
        _ignore_missing(
            lambda meta=meta: api.delete_namespaced_custom_object(
                GROUP, VERSION, meta["namespace"], PLURAL, meta["name"]
            )
        )
    wanted = {_key(plan) for plan in plans}
    deadline = time.monotonic() + timeout
    left = wanted
    while left and time.monotonic() < deadline:
        time.sleep(interval)  # polling the API for the condition: the Plans being gone
        left = {_key(plan) for plan in _plans(api, namespaces)} & wanted
    released = []
    for plan in _plans(api, namespaces):
        if _key(plan) not in left:
            continue
        meta = plan["metadata"]
        finalizers = [f for f in meta.get("finalizers") or [] if f != FINALIZER]
        _ignore_missing(
            lambda meta=meta, finalizers=finalizers: api.patch_namespaced_custom_object(
                GROUP,
                VERSION,
                meta["namespace"],
                PLURAL,
                meta["name"],
                {"metadata": {"finalizers": finalizers or None}},
                _content_type=MERGE_PATCH,
            )
        )
        released.append(_key(plan))
    return Outcome(finalized=sorted(wanted - set(released)), released=sorted(released))
