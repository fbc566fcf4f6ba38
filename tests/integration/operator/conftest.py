"""The operator under test: `fluxus operator` as a real process, the emulated Kubernetes API over
HTTP (tests/support/kubeapi.py), and PostgreSQL reached through a proxy the test can cut."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from sqlalchemy.engine import make_url

from tests.integration.operator.pgproxy import TcpProxy
from tests.support.kubeapi import KubeAPI
from tests.support.ports import free_port as _free_port
from tests.support.waiting import wait_for as eventually

REPO = Path(__file__).resolve().parents[3]
FLUXUS = str(Path(sys.executable).with_name("fluxus"))
GROUP, VERSION, PLURAL = "billing.fluxus.dev", "v1", "plans"
WATCHED = "billing"  # the operator's namespace (FLUXUS_OPERATOR_NAMESPACE)
IMAGE = "registry.example/fluxus:1.4.2"
RESYNC_SECONDS = 1.0
T = TypeVar("T")





def ready_condition(plan: dict[str, Any] | None) -> dict[str, Any]:
    for condition in ((plan or {}).get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return dict(condition)
    return {}


class Cluster:
    """The emulated API as a platform engineer sees it through the official client."""

    def __init__(self, kube: KubeAPI) -> None:
        self.kube = kube
        api_client = config.new_client_from_config(config_file=str(kube.kubeconfig_path))
        self.api_client = api_client
        self.custom = client.CustomObjectsApi(api_client)
        self.batch = client.BatchV1Api(api_client)

    def create_plan(self, name: str, spec: dict[str, Any], namespace: str = WATCHED) -> None:
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Plan",
            "metadata": {"name": name},
            "spec": spec,
        }
        self.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)

    def patch_plan(self, name: str, spec: dict[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            WATCHED,
            PLURAL,
            name,
            {"spec": spec},
            _content_type="application/merge-patch+json",
        )

    def delete_plan(self, name: str) -> None:
        self.custom.delete_namespaced_custom_object(GROUP, VERSION, WATCHED, PLURAL, name)

    def plan(self, name: str, namespace: str = WATCHED) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = self.custom.get_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, name
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return found

    def cronjob(self, name: str) -> dict[str, Any] | None:
        return self.kube.get("batch/v1/cronjobs", WATCHED, name)

    def events(self, name: str) -> list[tuple[str, str]]:
        return [
            (event.get("reason", ""), event.get("message", ""))
            for event in self.kube.objects("v1/events", WATCHED)
            if event.get("involvedObject", {}).get("name") == name
        ]

    def wait_ready(
        self,
        name: str,
        status: str = "True",
        reason: str | None = None,
        generation: int | None = None,
        timeout: float = 20.0,
    ) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            plan = self.plan(name)
            condition = ready_condition(plan)
            if condition.get("status") != status or reason not in (None, condition["reason"]):
                return None
            observed = (plan or {}).get("status", {}).get("observedGeneration")
            if generation is not None and observed != generation:
                return None
            return plan

        return eventually(probe, f"Plan {name} Ready={status} ({reason})", timeout)


@pytest.fixture
def kube(tmp_path: Path) -> Iterator[KubeAPI]:
    with KubeAPI(workdir=tmp_path, namespace=WATCHED) as api:
        api.register_crd(REPO / "k8s" / "crds" / "plan.yaml")
        yield api


@pytest.fixture
def cluster(kube: KubeAPI) -> Iterator[Cluster]:
    cluster = Cluster(kube)
    yield cluster
    # An idle keep-alive connection would hold up the emulator's shutdown.
    cluster.api_client.close()


@pytest.fixture
def pg_proxy(database_url: str) -> Iterator[TcpProxy]:
    url = make_url(database_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432)).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def operator_process(
    kube: KubeAPI, database_url: str, pg_proxy: TcpProxy, tmp_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """`fluxus operator` watching the `billing` namespace, its database behind the proxy."""
    with running_operator(kube, database_url, pg_proxy, tmp_path / "operator.log") as process:
        yield process


@contextmanager
def running_operator(
    kube: KubeAPI,
    database_url: str,
    pg_proxy: TcpProxy,
    log_path: Path,
    extra_args: tuple[str, ...] = (),
) -> Iterator[subprocess.Popen[bytes]]:
    """One `fluxus operator` process, stopped (SIGTERM) at the end; its log is printed."""
    proxied = make_url(database_url).set(host="127.0.0.1", port=pg_proxy.port)
    liveness = f"http://127.0.0.1:{_free_port()}/healthz"
    metrics_port = _free_port()
    env = {
        **os.environ,
        **kube.env(),
        "FLUXUS_DATABASE_URL": proxied.render_as_string(hide_password=False),
        "FLUXUS_DB_CONNECT_TIMEOUT": "2",
        "FLUXUS_OPERATOR_NAMESPACE": WATCHED,
        "FLUXUS_OPERATOR_IMAGE": IMAGE,
        "FLUXUS_OPERATOR_ENV_SECRET": "fluxus-env",
        "FLUXUS_OPERATOR_ENV_CONFIGMAP": "fluxus-config",
        "FLUXUS_METRICS_PORT": str(metrics_port),
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                FLUXUS,
                "operator",
                "--standalone",
                f"--liveness={liveness}",
                f"--resync-seconds={RESYNC_SECONDS}",
                *extra_args,
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        eventually(lambda: _alive(liveness, process), "the operator's liveness endpoint", 30)
        process.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"  # type: ignore[attr-defined]
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        # Shown by pytest only when the test failed.
        print(log_path.read_text(errors="replace")[-20000:])


def _alive(url: str, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"the operator exited with {process.returncode}")
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
