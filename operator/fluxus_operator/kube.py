"""The renewal CronJobs in the cluster, through the official `kubernetes` client."""

from __future__ import annotations

import json
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from fluxus_operator.cronjob import cronjob_drifted

MERGE_PATCH = "application/merge-patch+json"
FIELD_MANAGER = "fluxus-operator"


def load_config() -> None:
    """In-cluster credentials in a pod, else KUBECONFIG (development and tests)."""
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()


def batch_api() -> client.BatchV1Api:
    """A BatchV1Api on the client configuration loaded at startup."""
    return client.BatchV1Api(client.ApiClient())


def read_cronjob(api: client.BatchV1Api, namespace: str, name: str) -> dict[str, Any] | None:
    """The live CronJob as the API server returns it (raw JSON), or None when there is none."""
    try:
        # Raw JSON, not the model: drift is judged on what the server really holds.
        response: Any = api.read_namespaced_cron_job(name, namespace, _preload_content=False)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    document: dict[str, Any] = json.loads(response.data)
    return document


def ensure_cronjob(api: client.BatchV1Api, desired: dict[str, Any]) -> str:
    """Create the CronJob, or put back what was changed by hand; returns what it did.

    "created", "updated" or "unchanged". A merge patch with the whole desired spec restores
    every field the operator owns while leaving the API server's defaults alone.
    """
    namespace = desired["metadata"]["namespace"]
    name = desired["metadata"]["name"]
    live = read_cronjob(api, namespace, name)
    if live is None:
        try:
            body = client.V1CronJob.from_dict(desired)
            assert body is not None  # noqa: S101 - from_dict returns None only for None
            api.create_namespaced_cron_job(namespace, body, field_manager=FIELD_MANAGER)
            return "created"
        except ApiException as exc:
            if exc.status != 409:
                raise
        # Created meanwhile (the drift timer and a change handler raced): check that one.
        live = read_cronjob(api, namespace, name)
        if live is None:
            raise ApiException(status=409, reason=f"CronJob {name} appears and vanishes")
    if not cronjob_drifted(live, desired):
        return "unchanged"
    patch = {
        "metadata": {
            "labels": desired["metadata"]["labels"],
            "ownerReferences": desired["metadata"]["ownerReferences"],
        },
        "spec": desired["spec"],
    }
    api.patch_namespaced_cron_job(
        name, namespace, patch, _content_type=MERGE_PATCH, field_manager=FIELD_MANAGER
    )
    return "updated"


def delete_cronjob(api: client.BatchV1Api, namespace: str, name: str) -> bool:
    """Delete the CronJob and its Jobs; False when it was already gone."""
    try:
        api.delete_namespaced_cron_job(name, namespace, propagation_policy="Background")
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True
