"""The Helm chart lints, renders valid objects for every variant, and keeps its promises."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from services.core.config import COMPONENT_CREDENTIALS, describe, env_var_names
from services.worker.registry import ALL_QUEUES
from tests.chart.helpers import (
    CHART,
    KEYS_VALUES,
    NAMESPACE,
    VARIANTS,
    Render,
    Tools,
    helm_template,
    parse,
    pod_specs,
)

pytestmark = pytest.mark.integration

RenderFn = Callable[[str], Render]
SECRET_VARS = {row["env"] for row in describe() if row["secret"]}
CONFIG_VARS = set(env_var_names()) - SECRET_VARS
CHART_SET_VARS = {
    "FLUXUS_METRICS_PORT",
    "FLUXUS_OPERATOR_NAMESPACE",
    "FLUXUS_OPERATOR_IMAGE",
    "FLUXUS_OPERATOR_ENV_SECRET",
    "FLUXUS_OPERATOR_ENV_CONFIGMAP",
    "FLUXUS_COMPONENT",
}
HTTP_COMPONENTS = {"api": "/api/health", "payment": "/payment/health", "ui": "/liveness"}


def fluxus_containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    """Containers running the Fluxus image (command `fluxus`), init containers included;
    not the uninstall hook's `fluxus plans uninstall`, which reads no setting (Kubernetes only)."""
    containers = pod.get("initContainers", []) + pod["containers"]
    return [
        c
        for c in containers
        if c.get("command") == ["fluxus"] and c.get("args", [])[:2] != ["plans", "uninstall"]
    ]


def deployments(r: Render, component: str) -> list[dict[str, Any]]:
    return [
        d
        for d in r.kind("Deployment")
        if d["metadata"]["labels"]["app.kubernetes.io/component"] == component
    ]


def test_helm_lint_strict_passes(tools: Tools) -> None:
    result = subprocess.run(
        [str(tools.helm), "lint", "--strict", str(CHART), "--values", str(KEYS_VALUES)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_renders_objects_kubernetes_accepts(
    variant: str, render: RenderFn, tools: Tools, tmp_path: Path
) -> None:
    rendered = tmp_path / f"{variant}.yaml"
    rendered.write_text(render(variant).text)
    result = subprocess.run(
        [str(tools.kubernetes_validate), "--strict", "-k", "1.31.0", str(rendered)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed" in result.stdout + result.stderr


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_fluxus_container_gets_every_setting_and_only_its_credentials(
    variant: str, render: RenderFn
) -> None:
    r = render(variant)
    configmaps = {d["metadata"]["name"]: set(d.get("data", {})) for d in r.kind("ConfigMap")}
    secrets = {d["metadata"]["name"]: set(d.get("data") or {}) for d in r.kind("Secret")}
    existing = _existing_secret(variant)
    checked = 0
    for where, pod in pod_specs(r.docs):
        for container in fluxus_containers(pod):
            env = {e["name"]: e for e in container.get("env", [])}
            component = env["FLUXUS_COMPONENT"]["value"]
            provided = set(env)
            for source in container.get("envFrom", []):
                assert "secretRef" not in source, f"{where}: a whole Secret in envFrom"
                provided |= configmaps[source["configMapRef"]["name"]]
            missing = CONFIG_VARS - provided
            assert not missing, f"{where} container {container['name']} lacks {sorted(missing)}"
            wanted = COMPONENT_CREDENTIALS[component] & SECRET_VARS
            assert provided & SECRET_VARS == wanted, (where, container["name"])
            for name in wanted:
                ref = env[name]["valueFrom"]["secretKeyRef"]
                # An existing Secret must hold the secret variables (documented contract).
                assert ref["name"] == existing or ref["key"] in secrets[ref["name"]], (where, ref)
            checked += 1
    assert checked >= 3


def _existing_secret(variant: str) -> str | None:
    import yaml

    for path in VARIANTS[variant]:
        values = yaml.safe_load(path.read_text()) or {}
        name = (values.get("secrets") or {}).get("existingSecret")
        if name:
            return str(name)
    return None


def test_configmap_holds_the_settings_and_each_secret_only_its_components_credentials(
    render: RenderFn,
) -> None:
    r = render("default")
    config = r.one("ConfigMap", "fx-fluxus-config")["data"]
    assert set(config) == CONFIG_VARS - {"FLUXUS_COMPONENT"}
    assert not set(config) & SECRET_VARS
    for component in ("api", "payment", "worker", "scheduler", "operator", "renewal"):
        secret = r.one("Secret", f"fx-fluxus-{component}-secrets")["data"]
        assert set(secret) == COMPONENT_CREDENTIALS[component] & SECRET_VARS, component
    assert set(r.one("Secret", "fx-fluxus-migrations-secrets")["data"]) == {"FLUXUS_DATABASE_URL"}
    # The dashboard is internet-facing and uses no credential: it gets no Secret at all.
    assert not [d for d in r.kind("Secret") if "-ui" in d["metadata"]["name"]]
    assert config["FLUXUS_OPERATOR_NAMESPACE"] == NAMESPACE
    assert config["FLUXUS_OPERATOR_ENV_SECRET"] == "fx-fluxus-renewal-secrets"
    assert config["FLUXUS_OPERATOR_ENV_CONFIGMAP"] == "fx-fluxus-config"
    assert config["FLUXUS_METRICS_PORT"] == "9100"


def test_values_schema_knows_every_variable_of_services_core_config() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    config_keys = set(schema["properties"]["config"]["properties"])
    secret_keys = set(schema["properties"]["secrets"]["properties"]["values"]["properties"])
    assert config_keys == CONFIG_VARS - CHART_SET_VARS
    assert secret_keys == SECRET_VARS


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["api.bogus=1"], "additional properties"),
        (["config.FLUXUS_NOT_A_SETTING=x"], "additional properties"),
        (["api.replicas=two"], "api/replicas"),
        (["worker.autoscaling.mode=magic"], "mode"),
        (["ingress.enabled=maybe"], "ingress/enabled"),
    ],
)
def test_values_schema_rejects_unknown_keys_and_wrong_types(
    tools: Tools, sets: list[str], message: str
) -> None:
    result = helm_template(tools, sets=sets)
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.parametrize("variant", VARIANTS)
def test_http_deployments_have_all_three_probes_on_health_endpoints(
    variant: str, render: RenderFn
) -> None:
    r = render(variant)
    for component, prefix in HTTP_COMPONENTS.items():
        for deployment in deployments(r, component):
            container = deployment["spec"]["template"]["spec"]["containers"][0]
            probes = ("readinessProbe", "startupProbe")
            if component == "ui":
                probes += ("livenessProbe",)
            else:
                # gunicorn's master answers liveness, never the request workers.
                assert container["livenessProbe"]["tcpSocket"] == {"port": "metrics"}
            for probe in probes:
                get = container[probe]["httpGet"]
                assert get["path"].startswith(prefix), (component, probe, get)
                assert get["port"] == "http"
    for deployment in deployments(r, "operator"):
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    for deployment in deployments(r, "worker") + deployments(r, "scheduler"):
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["livenessProbe"]["httpGet"]["port"] == "metrics"


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_pod_is_locked_down(variant: str, render: RenderFn) -> None:
    for where, pod in pod_specs(render(variant).docs):
        pod_ctx = pod["securityContext"]
        assert pod_ctx["runAsNonRoot"] is True, where
        assert pod_ctx["seccompProfile"]["type"] == "RuntimeDefault", where
        tmp_volumes = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        for container in pod.get("initContainers", []) + pod["containers"]:
            ctx = container["securityContext"]
            assert ctx["allowPrivilegeEscalation"] is False, where
            assert ctx["readOnlyRootFilesystem"] is True, where
            assert ctx["capabilities"]["drop"] == ["ALL"], where
            tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]  # noqa: S108
            assert tmp and tmp[0]["name"] in tmp_volumes, f"{where}: no emptyDir on /tmp"


@pytest.mark.parametrize("variant", VARIANTS)
def test_services_select_pods_and_name_their_ports(variant: str, render: RenderFn) -> None:
    r = render(variant)
    for service in r.kind("Service"):
        selector = service["spec"]["selector"]
        targets = [
            d
            for d in r.kind("Deployment")
            if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(targets) == 1, f"Service {service['metadata']['name']} selects {len(targets)}"
        deployment = targets[0]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= selector.items()
        ports = {
            p["name"] for p in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]
        }
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports


def test_ingress_routes_api_webhooks_and_ui_but_never_metrics(render: RenderFn) -> None:
    r = render("keda-values")
    ingress = r.one("Ingress", "fx-fluxus")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"][0]["hosts"] == ["billing.example.com"]
    rule = ingress["spec"]["rules"][0]
    assert rule["host"] == "billing.example.com"
    routes = {
        p["path"]: (p["backend"]["service"]["name"], p["backend"]["service"]["port"]["name"])
        for p in rule["http"]["paths"]
    }
    assert routes == {
        "/api": ("fx-fluxus-api", "http"),
        "/payment/ecpay": ("fx-fluxus-payment", "http"),
        "/payment/invoice": ("fx-fluxus-payment", "http"),
        "/": ("fx-fluxus-ui", "http"),
    }
    config = r.one("ConfigMap", "fx-fluxus-config")["data"]
    assert config["FLUXUS_PUBLIC_PAYMENT_URL"] == "https://billing.example.com"


def test_migrations_run_as_a_pre_install_and_pre_upgrade_hook(render: RenderFn) -> None:
    r = render("default")
    job = r.one("Job", "fx-fluxus-migrations")
    notes = job["metadata"]["annotations"]
    assert set(notes["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    assert "before-hook-creation" in notes["helm.sh/hook-delete-policy"]
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["db", "upgrade"]
    # The hook's own configuration exists before the Job (lower weight).
    refs = {next(iter(s.values()))["name"] for s in container["envFrom"]}
    for doc in r.docs:
        if doc["metadata"]["name"] in refs:
            weight = int(doc["metadata"]["annotations"]["helm.sh/hook-weight"])
            assert weight < int(notes["helm.sh/hook-weight"])
    for deployment in r.kind("Deployment"):
        component = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
        init = deployment["spec"]["template"]["spec"].get("initContainers", [])
        if component != "ui":
            assert init and init[0]["args"][:2] == ["db", "wait"], component


def test_operator_is_a_single_recreated_standalone_replica(render: RenderFn) -> None:
    (operator,) = deployments(render("default"), "operator")
    assert operator["spec"]["replicas"] == 1
    assert operator["spec"]["strategy"] == {"type": "Recreate"}
    pod = operator["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is True
    assert pod["serviceAccountName"] == "fx-fluxus-operator"
    assert "--standalone" in pod["containers"][0]["args"]
    for other in render("default").kind("Deployment"):
        if other is not operator:
            assert other["spec"]["template"]["spec"]["automountServiceAccountToken"] is False


def test_workers_get_a_warm_shutdown_window_per_queue_group(render: RenderFn) -> None:
    workers = deployments(render("default"), "worker")
    assert {tuple(w["spec"]["template"]["spec"]["containers"][0]["args"]) for w in workers} == {
        ("worker", "--queues", "payments"),
        ("worker", "--queues", "invoices,email,renewals,maintenance"),
    }
    for worker in workers:
        assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 120
        assert "replicas" not in worker["spec"]  # KEDA owns the replica count


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_queue_of_the_registry_has_a_worker(variant: str, render: RenderFn) -> None:
    """A queue no worker consumes would silently stop its jobs (periodic ones included)."""
    consumed: set[str] = set()
    for worker in deployments(render(variant), "worker"):
        args = worker["spec"]["template"]["spec"]["containers"][0]["args"]
        consumed.update(args[args.index("--queues") + 1].split(","))
    assert consumed == set(ALL_QUEUES)


@pytest.mark.parametrize("component", ["api", "payment", "ui"])
def test_http_servers_listen_on_every_interface_of_the_pod(
    component: str, render: RenderFn
) -> None:
    """Loopback would pass nothing: neither the Service nor the kubelet's probes reach it."""
    (deployment,) = deployments(render("default"), component)
    args = " ".join(deployment["spec"]["template"]["spec"]["containers"][0]["args"])
    assert "0.0.0.0" in args, args  # noqa: S104 - what the pod must do


OPERATOR_RULES = {
    ("billing.fluxus.dev", "plans"): {"get", "list", "watch", "patch", "update"},
    ("billing.fluxus.dev", "plans/status"): {"get", "patch", "update"},
    ("billing.fluxus.dev", "plans/finalizers"): {"update"},
    ("batch", "cronjobs"): {"get", "list", "watch", "create", "update", "patch", "delete"},
    ("", "events"): {"create", "patch"},
}


def _rules(role: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                out.setdefault((group, resource), set()).update(rule["verbs"])
    return out


@pytest.mark.parametrize(("variant", "kind"), [("default", "Role"), ("hpa-values", "ClusterRole")])
def test_operator_rbac_is_least_privilege(variant: str, kind: str, render: RenderFn) -> None:
    r = render(variant)
    role = r.one(kind, "fx-fluxus-operator")
    assert _rules(role) == OPERATOR_RULES
    observer = [d for d in r.kind("ClusterRole") if d["metadata"]["name"].endswith("-observer")]
    assert len(observer) == 1
    assert _rules(observer[0]) == {
        ("", "namespaces"): {"list", "watch"},
        ("apiextensions.k8s.io", "customresourcedefinitions"): {"list", "watch"},
    }
    binding = r.one(f"{kind}Binding", "fx-fluxus-operator")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "fx-fluxus-operator", "namespace": NAMESPACE}
    ]
    for doc in r.kind("Role") + r.kind("ClusterRole"):
        for rule in doc["rules"]:
            assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"]
            assert "secrets" not in rule["resources"]


def test_payment_is_reachable_from_the_ingress_controller_and_ui_only(render: RenderFn) -> None:
    policy = render("default").one("NetworkPolicy", "fx-fluxus-payment")
    http_rules = [rule for rule in policy["spec"]["ingress"] if rule["ports"][0]["port"] == "http"]
    peers = [peer for rule in http_rules for peer in rule["from"]]
    assert len(peers) == 2
    assert peers[0]["namespaceSelector"] == {
        "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
    }
    assert peers[1] == {
        "podSelector": {
            "matchLabels": {
                "app.kubernetes.io/name": "fluxus",
                "app.kubernetes.io/instance": "fx",
                "app.kubernetes.io/component": "ui",
            }
        }
    }
    egress_ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}
    assert {53, 5432, 6379, 587, 443} <= egress_ports


def _chart_copy(tmp_path: Path, with_files: bool) -> Path:
    chart = tmp_path / "fluxus"
    shutil.copytree(CHART, chart)
    shutil.rmtree(chart / "files" / "prometheus", ignore_errors=True)
    shutil.rmtree(chart / "files" / "dashboards", ignore_errors=True)
    if with_files:
        (chart / "files" / "prometheus").mkdir(parents=True)
        (chart / "files" / "dashboards").mkdir(parents=True)
        (chart / "files" / "prometheus" / "api.rules.yaml").write_text(
            "groups:\n  - name: fluxus-api\n    rules:\n      - alert: FluxusApiDown\n"
            '        expr: up{job="fx-fluxus-api"} == 0\n        for: 5m\n'
        )
        (chart / "files" / "dashboards" / "fluxus_overview.json").write_text(
            json.dumps({"title": "Fluxus overview", "panels": []})
        )
    return chart


@pytest.mark.parametrize("with_files", [False, True])
def test_monitoring_renders_rules_and_dashboards_only_from_files(
    tools: Tools, tmp_path: Path, with_files: bool
) -> None:
    chart = _chart_copy(tmp_path, with_files)
    result = helm_template(tools, sets=["monitoring.enabled=true"], chart=chart)
    assert result.returncode == 0, result.stderr
    docs = parse(result.stdout)
    monitors = [d for d in docs if d["kind"] == "ServiceMonitor"]
    assert len(monitors) == 6
    assert all(m["spec"]["endpoints"][0]["port"] == "metrics" for m in monitors)
    rules = [d for d in docs if d["kind"] == "PrometheusRule"]
    dashboards = [
        d
        for d in docs
        if d["kind"] == "ConfigMap" and "grafana_dashboard" in d["metadata"]["labels"]
    ]
    if not with_files:
        assert rules == [] and dashboards == []
        return
    (rule,) = rules
    assert rule["spec"]["groups"][0]["rules"][0]["alert"] == "FluxusApiDown"
    (dashboard,) = dashboards
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard["data"]["fluxus_overview.json"])["title"] == "Fluxus overview"


def test_backup_cronjob_dumps_into_a_kept_claim(render: RenderFn) -> None:
    r = render("existing-secret-values")
    cronjob = r.one("CronJob", "fx-fluxus-backup")
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == "postgres:16.6"
    assert "pg_dump" in pod["containers"][0]["args"][0]
    claim = r.one("PersistentVolumeClaim", "fx-fluxus-backups")
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == "fx-fluxus-backups"
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    url = env["FLUXUS_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert url == {"name": "fluxus-production", "key": "FLUXUS_DATABASE_URL"}
