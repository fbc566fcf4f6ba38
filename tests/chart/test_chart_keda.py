"""KEDA objects (chart and k8s/keda examples) are valid for the KEDA model and scale on RQ lists."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from tests.chart.helpers import REPO, Render, Tools

pytestmark = pytest.mark.integration

VALIDATOR = REPO / "tests" / "chart" / "keda_validate.mjs"


def keda_validate(tools: Tools, objects: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", str(VALIDATOR), str(tools.node_modules)],
        input=json.dumps(objects),
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_rq_triggers(scaled: dict[str, Any], queues: list[str]) -> None:
    triggers = scaled["spec"]["triggers"]
    assert [t["type"] for t in triggers] == ["redis"] * len(queues)
    assert [t["metadata"]["listName"] for t in triggers] == [f"rq:queue:{q}" for q in queues]
    for trigger in triggers:
        length = trigger["metadata"]["listLength"]
        assert isinstance(length, str) and length.isdigit(), length
        assert trigger["authenticationRef"]["name"]


@pytest.mark.parametrize("variant", ["default", "keda-values", "existing-secret-values"])
def test_chart_scaled_objects_are_valid_and_watch_each_queue(
    variant: str, render: Callable[[str], Render], tools: Tools
) -> None:
    r = render(variant)
    scaled = r.kind("ScaledObject")
    auths = r.kind("TriggerAuthentication")
    assert scaled and len(auths) == 1
    result = keda_validate(tools, scaled + auths)
    assert result.returncode == 0, result.stdout + result.stderr
    workers = {
        d["metadata"]["name"]: d
        for d in r.kind("Deployment")
        if d["metadata"]["labels"]["app.kubernetes.io/component"] == "worker"
    }
    assert {s["spec"]["scaleTargetRef"]["name"] for s in scaled} == set(workers)
    for obj in scaled:
        worker = workers[obj["spec"]["scaleTargetRef"]["name"]]
        args = worker["spec"]["template"]["spec"]["containers"][0]["args"]
        assert_rq_triggers(obj, args[args.index("--queues") + 1].split(","))
        auth = obj["spec"]["triggers"][0]["authenticationRef"]["name"]
        assert auth == auths[0]["metadata"]["name"]
    params = {ref["parameter"] for ref in auths[0]["spec"]["secretTargetRef"]}
    assert params == {"address", "password"}


def test_keda_secret_is_derived_from_the_redis_url(render: Callable[[str], Render]) -> None:
    r = render("keda-values")
    secret = r.one("Secret", "fx-fluxus-keda-redis")["stringData"]
    assert secret == {"address": "redis.internal:6380", "password": "redis-pass"}
    trigger = r.kind("ScaledObject")[0]["spec"]["triggers"][0]["metadata"]
    assert (trigger["databaseIndex"], trigger["enableTLS"]) == ("2", "true")


def test_example_manifests_in_k8s_keda_are_valid(tools: Tools) -> None:
    objects = []
    for path in sorted((REPO / "k8s" / "keda").glob("*.yaml")):
        objects += [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert {o["kind"] for o in objects} == {"ScaledObject", "TriggerAuthentication"}
    result = keda_validate(tools, objects)
    assert result.returncode == 0, result.stdout + result.stderr
    for obj in objects:
        if obj["kind"] == "ScaledObject":
            queues = [t["metadata"]["listName"].split(":")[-1] for t in obj["spec"]["triggers"]]
            assert_rq_triggers(obj, queues)


def test_the_keda_model_refuses_a_broken_scaled_object(
    render: Callable[[str], Render], tools: Tools
) -> None:
    broken = json.loads(json.dumps(render("default").kind("ScaledObject")[0]))
    broken["spec"]["maxReplicaCount"] = "many"
    result = keda_validate(tools, [broken])
    assert result.returncode == 1
    assert "INVALID" in result.stdout


def _keda_render(tools: Tools, *sets: str, api: bool = True) -> Any:
    import subprocess as sp

    from tests.chart.helpers import CHART, KEYS_VALUES, NAMESPACE, parse

    cmd = [str(tools.helm), "template", "fx", str(CHART), "-n", NAMESPACE, "-f", str(KEYS_VALUES)]
    cmd += ["--kube-version", "1.31.0"] + (["--api-versions", "keda.sh/v1alpha1"] if api else [])
    for item in sets:
        cmd += ["--set-string" if "REDIS_URL" in item else "--set", item]
    result = sp.run(cmd, capture_output=True, text=True, timeout=60)
    return result, (parse(result.stdout) if result.returncode == 0 else [])


@pytest.mark.parametrize(
    ("url", "expected", "username"),
    [
        # An ACL user and a password with reserved characters, percent-encoded in the URL.
        (
            "rediss://fluxus:p%40ss%3Aw%2Fo%25rd@redis.internal/3",
            {"address": "redis.internal:6379", "username": "fluxus", "password": "p@ss:w/o%rd"},
            True,
        ),
        # No port: Redis's default, which KEDA's host:port address needs.
        (
            "redis://:s3cret@redis-master/0",
            {"address": "redis-master:6379", "password": "s3cret"},
            False,
        ),
        # A lone user-info part is the password (redis-py's reading).
        ("redis://s3cret@redis:6380", {"address": "redis:6380", "password": "s3cret"}, False),
    ],
)
def test_keda_auth_is_derived_from_the_url_as_redis_py_reads_it(
    tools: Tools, url: str, expected: dict[str, str], username: bool
) -> None:
    result, docs = _keda_render(tools, f"secrets.values.FLUXUS_REDIS_URL={url}")
    assert result.returncode == 0, result.stderr
    (secret,) = [
        d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"].endswith("keda-redis")
    ]
    assert secret["stringData"] == expected
    (auth,) = [d for d in docs if d["kind"] == "TriggerAuthentication"]
    params = {p["parameter"] for p in auth["spec"]["secretTargetRef"]}
    assert ("username" in params) is username


def test_scaled_objects_hold_fallback_replicas_when_the_queues_cannot_be_read(
    render: Callable[[str], Render],
) -> None:
    for scaled in render("default").kind("ScaledObject"):
        assert scaled["spec"]["fallback"] == {"failureThreshold": 3, "replicas": 2}
        assert scaled["spec"]["minReplicaCount"] >= 1


def test_keda_mode_without_keda_fails_and_says_what_to_do(tools: Tools) -> None:
    result, _ = _keda_render(tools, api=False)
    assert result.returncode != 0
    assert "does not serve keda.sh/v1alpha1" in result.stderr
    assert "worker.autoscaling.mode=hpa" in result.stderr
    fallback, docs = _keda_render(tools, "worker.autoscaling.mode=hpa", api=False)
    assert fallback.returncode == 0, fallback.stderr
    assert [d for d in docs if d["kind"] == "HorizontalPodAutoscaler"]


@pytest.mark.parametrize(
    "setting",
    ["worker.autoscaling.minReplicas=0", "worker.queueGroups[0].autoscaling.minReplicas=0"],
)
def test_scaling_a_queue_group_to_zero_is_refused(tools: Tools, setting: str) -> None:
    sets = [setting]
    if "queueGroups" in setting:
        sets += ["worker.queueGroups[0].name=payments", "worker.queueGroups[0].queues[0]=payments"]
    result, _ = _keda_render(tools, *sets)
    assert result.returncode != 0
    assert "minReplicas" in result.stderr
