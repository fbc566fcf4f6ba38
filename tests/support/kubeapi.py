"""An in-memory Kubernetes API on loopback for tests: kmock's emulator, patched to be usable.

kmock 0.8's ``KubernetesEmulator`` serves discovery, list, watch, get, create, patch (merge and
JSON) and delete over HTTP, enough for the real ``kubectl``, the ``kubernetes`` client and
Kopf. This module runs it in a background thread and covers the gaps /work/shared/TOOLING.md
lists:

* objects get ``uid``, ``resourceVersion``, ``creationTimestamp``, ``generation`` and their
  namespace on create; every write bumps ``resourceVersion`` (Kopf's JSON patches ``test`` it)
  and spec changes bump ``generation``;
* a failed JSON-patch ``test`` answers 422 (what Kopf expects on a conflict), and error
  reasons are the standard ones (NotFound, AlreadyExists, Invalid);
* list responses carry ``kind``/``apiVersion`` and a real ``resourceVersion``;
* ``/api/v1/namespaces`` and ``/api/v1/namespaces/<name>`` address Namespace objects;
* the core group's discovery says ``groupVersion: v1`` (not ``/v1``);
* built-in kinds are pre-registered for discovery, and a CustomResourceDefinition created
  through the API (or with :meth:`KubeAPI.register_crd`) makes its resource served.

It still does not validate schemas, apply defaults, honour label selectors, garbage-collect or
run controllers (a Deployment never gets pods).

Usage::

    with KubeAPI(workdir=tmp_path) as kube:          # or kube = KubeAPI(...).start()
        kube.register_crd("k8s/crds/plan.yaml")
        os.environ["KUBECONFIG"] = str(kube.kubeconfig_path)  # before importing kopf/kubernetes
        subprocess.run(["kubectl", "--kubeconfig", kube.kubeconfig_path, "apply", "-f", ...])
        kube.get("billing.fluxus.dev/v1/plans", "default", "pro-monthly")

or the ``kube_api`` pytest fixture below (import it into a conftest.py or test module).
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import itertools
import threading
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import aiohttp.web
import jsonpatch
import kmock
import pytest
import yaml
from kmock._internal import parsing, rendering

__all__ = ["BUILTIN_RESOURCES", "KubeAPI", "kube_api"]

# (group/version, plural, kind, namespaced, subresources) of the built-in kinds served.
BUILTIN_RESOURCES: list[tuple[str, str, str, bool, tuple[str, ...]]] = [
    ("v1", "namespaces", "Namespace", False, ("status",)),
    ("v1", "configmaps", "ConfigMap", True, ()),
    ("v1", "secrets", "Secret", True, ()),
    ("v1", "services", "Service", True, ("status",)),
    ("v1", "serviceaccounts", "ServiceAccount", True, ()),
    ("v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ("status",)),
    ("v1", "pods", "Pod", True, ("status", "log")),
    ("v1", "events", "Event", True, ()),
    ("apps/v1", "deployments", "Deployment", True, ("status", "scale")),
    ("batch/v1", "jobs", "Job", True, ("status",)),
    ("batch/v1", "cronjobs", "CronJob", True, ("status",)),
    ("rbac.authorization.k8s.io/v1", "roles", "Role", True, ()),
    ("rbac.authorization.k8s.io/v1", "rolebindings", "RoleBinding", True, ()),
    ("rbac.authorization.k8s.io/v1", "clusterroles", "ClusterRole", False, ()),
    ("rbac.authorization.k8s.io/v1", "clusterrolebindings", "ClusterRoleBinding", False, ()),
    ("networking.k8s.io/v1", "ingresses", "Ingress", True, ("status",)),
    ("networking.k8s.io/v1", "networkpolicies", "NetworkPolicy", True, ()),
    ("policy/v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ("status",)),
    ("autoscaling/v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, ("status",)),
    ("events.k8s.io/v1", "events", "Event", True, ()),
    ("coordination.k8s.io/v1", "leases", "Lease", True, ()),
    (
        "apiextensions.k8s.io/v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        ("status",),
    ),
]

SHORT_NAMES = {
    "namespaces": {"ns"},
    "configmaps": {"cm"},
    "services": {"svc"},
    "serviceaccounts": {"sa"},
    "persistentvolumeclaims": {"pvc"},
    "pods": {"po"},
    "events": {"ev"},
    "deployments": {"deploy"},
    "cronjobs": {"cj"},
    "ingresses": {"ing"},
    "networkpolicies": {"netpol"},
    "poddisruptionbudgets": {"pdb"},
    "horizontalpodautoscalers": {"hpa"},
    "customresourcedefinitions": {"crd", "crds"},
}
VERBS = {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
CRDS = kmock.resource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
NAMESPACES = kmock.resource("", "v1", "namespaces")
STANDARD_REASONS = {404: "NotFound", 409: "AlreadyExists", 422: "Invalid"}


def _now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_path(path: str) -> parsing.ParsedPath:
    """kmock's parser, plus the cluster-scoped Namespace paths it reads as namespace scopes."""
    parts = path.strip("/").split("/")
    if parts[:3] == ["api", "v1", "namespaces"] and len(parts) in (3, 4, 5):
        if len(parts) == 3:  # /api/v1/namespaces
            return parsing.ParsedPath("", "v1", "namespaces")
        if len(parts) == 4 or parts[4] in ("status", "finalize"):  # /api/v1/namespaces/<ns>
            sub = parts[4] if len(parts) == 5 else None
            return parsing.ParsedPath("", "v1", "namespaces", None, parts[3], sub)
    return _original_parse_path(path)


# Process-wide but idempotent: only adds meaning to paths kmock could not parse at all.
_original_parse_path = getattr(parsing.parse_path, "__wrapped_original__", parsing.parse_path)
_parse_path.__wrapped_original__ = _original_parse_path  # type: ignore[attr-defined]
parsing.parse_path = _parse_path


class _Emulator(kmock.KubernetesEmulator):
    """KubernetesEmulator with object metadata, standard errors and list kinds."""

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._versions = itertools.count(1)
        self._last_version = 0

    def next_version(self) -> str:
        self._last_version = next(self._versions)
        return str(self._last_version)

    # -- writes --------------------------------------------------------------------------
    async def _handle(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        if request.resource is not None and request.resource.plural is not None:
            self._stamp(request)
        try:
            response = await super()._handle(request)
        except (jsonpatch.JsonPatchTestFailed, jsonpatch.JsonPatchConflict) as exc:
            raise kmock.KubernetesError(status=422, reason="Invalid", message=str(exc)) from exc
        if request.action == kmock.action.CREATE and request.resource == CRDS:
            self._register_crd(request.data)
        return response

    def _stamp(self, request: rendering.Request) -> None:
        """Give a write the metadata the real API server would (in place, before kmock runs)."""
        assert request.resource is not None
        if request.action == kmock.action.CREATE and isinstance(request.data, dict):
            meta = request.data.setdefault("metadata", {})
            if request.namespace and not meta.get("namespace"):
                meta["namespace"] = request.namespace
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
            meta["uid"] = str(uuid.uuid4())
            meta["resourceVersion"] = self.next_version()
            meta["creationTimestamp"] = _now()
            meta["generation"] = 1
            return
        key = (request.resource, request.namespace, request.name)
        if request.name is None or key not in self._objects or self._objects[key].deleted:
            return  # kmock answers 404 itself
        current = self._objects[key].raw.get("metadata", {})
        version = self.next_version()
        if request.action == kmock.action.UPDATE:
            touches_spec = request.subresource is None and self._touches_spec(request.data)
            generation = current.get("generation", 1) + (1 if touches_spec else 0)
            if isinstance(request.data, dict):
                meta = request.data.setdefault("metadata", {}) or {}
                request.data["metadata"] = meta
                meta.update(resourceVersion=version, generation=generation)
            elif isinstance(request.data, list):
                request.data.extend(
                    [
                        {"op": "add", "path": "/metadata/resourceVersion", "value": version},
                        {"op": "add", "path": "/metadata/generation", "value": generation},
                    ]
                )
        elif request.action == kmock.action.DELETE:
            # A delete that only sets deletionTimestamp (finalizers pending) is a write too.
            self._objects[key].patch({"metadata": {"resourceVersion": version}})

    @staticmethod
    def _touches_spec(data: Any) -> bool:
        if isinstance(data, dict):
            return "spec" in data
        if isinstance(data, list):
            return any(str(op.get("path", "")).startswith("/spec") for op in data)
        return False

    def _register_crd(self, crd: Mapping[str, Any]) -> list[str]:
        spec = crd["spec"]
        names = spec["names"]
        served = []
        for version in spec["versions"]:
            if not version.get("served", True):
                continue
            resource = kmock.resource(spec["group"], version["name"], names["plural"])
            self.resources[resource] = kmock.ResourceInfo(
                kind=names["kind"],
                singular=names.get("singular", names["kind"].lower()),
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                shortnames=set(names.get("shortNames", [])),
                categories=set(names.get("categories", [])),
                verbs=VERBS,
                subresources=set(version.get("subresources", {})),
            )
            served.append(f"{spec['group']}/{version['name']}/{names['plural']}")
        return served

    # -- reads ---------------------------------------------------------------------------
    async def _serve_list(self, request: rendering.Request) -> rendering.Payload:
        payload = await super()._serve_list(request)
        assert request.resource is not None and isinstance(payload, dict)
        info = self.resources[request.resource]
        group, version = request.resource.group, request.resource.version
        payload["apiVersion"] = f"{group}/{version}" if group else str(version)
        payload["kind"] = f"{info.kind or 'Object'}List"
        payload["metadata"] = {"resourceVersion": str(self._last_version)}
        return payload

    async def _serve_version(self, request: rendering.Request) -> rendering.Payload:
        payload = await super()._serve_version(request)
        if isinstance(payload, dict):
            if str(payload.get("groupVersion", "")).startswith("/"):
                payload["groupVersion"] = payload["groupVersion"].lstrip("/")
            for entry in payload.get("resources", []):
                if "/" in entry["name"]:  # subresources have no short names or categories
                    entry.update(shortNames=[], categories=[], singularName="")
        return payload

    async def _render_error(self, exc: Exception) -> aiohttp.web.StreamResponse:
        if isinstance(exc, kmock.KubernetesError) and exc.status in STANDARD_REASONS:
            exc = kmock.KubernetesError(
                status=exc.status,
                reason=STANDARD_REASONS[exc.status],
                message=exc.message,
                details=exc.details,
            )
        return await super()._render_error(exc)


class KubeAPI:
    """The emulator served over HTTP on loopback from a background thread.

    ``start()`` returns once the port is open; ``url`` and ``kubeconfig_path`` are then valid.
    The ``namespace`` (and ``default``) exist as Namespace objects from the start.
    """

    def __init__(
        self,
        workdir: Path | str | None = None,
        *,
        namespace: str = "default",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.namespace = namespace
        self._host = host
        self._port = port
        self._workdir = Path(workdir) if workdir is not None else None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.emulator = _Emulator()
        self.url = ""
        self.kubeconfig_path = Path()

    # -- lifecycle -----------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> KubeAPI:
        if self._thread is not None:
            raise RuntimeError("KubeAPI already started")
        for gv, plural, kind, namespaced, subresources in BUILTIN_RESOURCES:
            self.emulator.resources[kmock.resource(f"{gv}/{plural}")] = kmock.ResourceInfo(
                kind=kind,
                singular=kind.lower(),
                namespaced=namespaced,
                shortnames=SHORT_NAMES.get(plural, set()) if gv != "events.k8s.io/v1" else set(),
                verbs=VERBS,
                subresources=set(subresources),
            )
        self._thread = threading.Thread(target=self._run, name="kubeapi", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or self._error is not None:
            raise RuntimeError(f"KubeAPI did not start: {self._error!r}")
        for ns in dict.fromkeys(["default", self.namespace]):
            self._seed(NAMESPACES, None, {"metadata": {"name": ns}, "status": {"phase": "Active"}})
        self.kubeconfig_path = self._write_kubeconfig()
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> KubeAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to start(); the thread just ends
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        async with self.emulator:
            # Kopf keeps watch streams open; aiohttp would wait a minute for them on stop().
            runner = aiohttp.web.ServerRunner(
                aiohttp.web.Server(self.emulator), access_log=None, shutdown_timeout=0.5
            )
            await runner.setup()
            site = aiohttp.web.TCPSite(runner, self._host, self._port)
            await site.start()
            host, port = runner.addresses[0][:2]
            self.url = f"http://{host}:{port}"
            self._ready.set()
            try:
                await self._stopping.wait()
            finally:
                await runner.cleanup()

    def _write_kubeconfig(self) -> Path:
        import tempfile

        directory = self._workdir or Path(tempfile.mkdtemp(prefix="kubeapi-"))
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "kubeconfig"
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "kmock", "cluster": {"server": self.url}}],
            # The emulator ignores credentials; clients want some to be present.
            "users": [{"name": "kmock", "user": {"token": "kmock-test-token"}}],
            "contexts": [
                {
                    "name": "kmock",
                    "context": {"cluster": "kmock", "user": "kmock", "namespace": self.namespace},
                }
            ],
            "current-context": "kmock",
        }
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    # -- helpers for tests ----------------------------------------------------------------
    def _call(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(*args)`` on the server's loop (where the objects live) and return its result."""
        if self._loop is None:
            raise RuntimeError("KubeAPI is not started")

        async def wrapper() -> Any:
            async with self.emulator._lock:
                return fn(*args)

        return asyncio.run_coroutine_threadsafe(wrapper(), self._loop).result(timeout=10)

    def _seed(self, resource: kmock.resource, namespace: str | None, obj: dict[str, Any]) -> None:
        def put() -> None:
            meta = obj.setdefault("metadata", {})
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", _now())
            meta["resourceVersion"] = self.emulator.next_version()
            self.emulator.objects[resource, namespace, meta["name"]] = obj

        self._call(put)

    def register_crd(self, source: Path | str | Mapping[str, Any]) -> list[str]:
        """Serve the custom resources of CRD documents (a YAML file path or a parsed CRD).

        The CRD objects are stored too (``kubectl get crd`` lists them). Returns the served
        resources as ``group/version/plural``.
        """
        if isinstance(source, Mapping):
            docs = [dict(source)]
        else:
            docs = [d for d in yaml.safe_load_all(Path(source).read_text()) if d]
        served: list[str] = []
        for doc in docs:
            if doc.get("kind") != "CustomResourceDefinition":
                continue
            doc = copy.deepcopy(doc)
            self._seed(CRDS, None, doc)
            served += self._call(self.emulator._register_crd, doc)
        return served

    def objects(self, resource: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Snapshot of the live objects of ``resource`` (e.g. ``"batch/v1/cronjobs"``)."""
        wanted = kmock.resource(resource)

        def collect() -> list[dict[str, Any]]:
            return [
                copy.deepcopy(obj.raw)
                for (res, ns, _), obj in self.emulator.objects.items()
                if res == wanted and not obj.deleted and namespace in (None, ns)
            ]

        result: list[dict[str, Any]] = self._call(collect)
        return result

    def get(self, resource: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        """One live object, or None."""
        for obj in self.objects(resource, namespace):
            if obj.get("metadata", {}).get("name") == name:
                return obj
        return None

    def env(self) -> dict[str, str]:
        """Environment for subprocesses (kubectl, a Kopf operator) that should use this API."""
        return {"KUBECONFIG": str(self.kubeconfig_path)}


@pytest.fixture
def kube_api(tmp_path: Path) -> Iterator[KubeAPI]:
    """A fresh emulated API per test; its kubeconfig is in the test's tmp_path."""
    with KubeAPI(workdir=tmp_path) as api:
        yield api
