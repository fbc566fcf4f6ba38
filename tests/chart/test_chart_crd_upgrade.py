"""The Plan CRD follows the chart: `helm upgrade` updates its schema, `helm uninstall` keeps it.

Helm never upgrades a chart's `crds/` directory, so the chart renders the CRD from templates/
with `helm.sh/resource-policy: keep`. The upgrade test runs the real helm against the
Kubernetes API emulator, with two deviations from a cluster, both because of the emulator:
`--server-side=false` (it has no server-side apply; helm then sends the JSON merge patch of
a three-way diff), `--disable-openapi-validation` (it serves no OpenAPI document), and the
release records kept by helm's SQL driver in a fresh PostgreSQL database (helm writes its
release Secrets as protobuf, which the emulator cannot decode). Hooks are skipped: no
controller would ever run their Jobs.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from tests.chart.helpers import (
    CHART,
    KEYS_VALUES,
    NAMESPACE,
    REPO,
    Render,
    Tools,
    helm_template,
    parse,
)
from tests.support import databases
from tests.support.kubeapi import KubeAPI

pytestmark = pytest.mark.integration

CRD_NAME = "plans.billing.fluxus.dev"
CRDS = "apiextensions.k8s.io/v1/customresourcedefinitions"
PLANS = "billing.fluxus.dev/v1/plans"
KEDA_KINDS = {"scaledobjects": "ScaledObject", "triggerauthentications": "TriggerAuthentication"}


def test_crd_is_a_template_with_the_keep_policy(render: Callable[[str], Render]) -> None:
    assert not (CHART / "crds").exists(), "Helm would install crds/ once and never upgrade it"
    source = yaml.safe_load((REPO / "k8s" / "crds" / "plan.yaml").read_text())
    for variant in ("default", "minimal-values"):
        crd = render(variant).one("CustomResourceDefinition", CRD_NAME)
        assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
        assert crd["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
        assert crd["spec"] == source["spec"]  # the source of truth, unchanged by the template


def test_crds_install_false_leaves_the_crd_out(tools: Tools) -> None:
    result = helm_template(tools, sets=["crds.install=false"])
    assert result.returncode == 0, result.stderr
    assert [d for d in parse(result.stdout) if d["kind"] == "CustomResourceDefinition"] == []


@pytest.fixture
def helm_sql_env() -> Iterator[dict[str, str]]:
    """helm's environment with its release records in a fresh, empty PostgreSQL database."""
    with databases.fresh_database() as url:
        u = make_url(url)
        dsn = f"postgres://{u.username}@{u.host}:{u.port or 5432}/{u.database}?sslmode=disable"
        if u.password:
            dsn = dsn.replace(f"{u.username}@", f"{u.username}:{u.password}@", 1)
        yield {**os.environ, "HELM_DRIVER": "sql", "HELM_DRIVER_SQL_CONNECTION_STRING": dsn}


def started_emulator(workdir: Path) -> KubeAPI:
    kube = KubeAPI(workdir=workdir, namespace=NAMESPACE)
    # kmock reports v1.26.4; the chart needs >=1.27. An explicit handler wins over its fallback.
    kube.emulator["get /version"] << {
        "major": "1",
        "minor": "31",
        "gitVersion": "v1.31.0",
        "platform": "linux/amd64",
    }
    kube.start()
    for plural, kind in KEDA_KINDS.items():  # the chart checks that KEDA is served
        kube.register_crd(
            {
                "kind": "CustomResourceDefinition",
                "metadata": {"name": f"{plural}.keda.sh"},
                "spec": {
                    "group": "keda.sh",
                    "scope": "Namespaced",
                    "names": {"kind": kind, "plural": plural},
                    "versions": [{"name": "v1alpha1", "served": True, "storage": True}],
                },
            }
        )
    return kube


def helm(
    tools: Tools, kube: KubeAPI, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    cmd = [str(tools.helm), *args, "--namespace", NAMESPACE]
    cmd += ["--kubeconfig", str(kube.kubeconfig_path)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env)


def schema_properties(crd: dict[str, Any]) -> dict[str, Any]:
    (version,) = crd["spec"]["versions"]
    props: dict[str, Any] = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return props["properties"]


def test_helm_upgrade_updates_the_crd_and_uninstall_keeps_it(
    tools: Tools, tmp_path: Path, helm_sql_env: dict[str, str]
) -> None:
    # The next chart version: the same chart with one new Plan field in its CRD.
    next_chart = tmp_path / "fluxus"
    shutil.copytree(CHART, next_chart)
    crd_file = next_chart / "files" / "crds" / "plan.yaml"
    crd = yaml.safe_load(crd_file.read_text())
    changed = copy.deepcopy(crd)
    schema_properties(changed)["region"] = {"type": "string", "maxLength": 40}
    crd_file.write_text(yaml.safe_dump(changed, sort_keys=False))
    install_flags = ["--no-hooks", "--server-side=false", "--disable-openapi-validation"]
    install_flags += ["--values", str(KEYS_VALUES), "--timeout", "60s"]

    kube = started_emulator(tmp_path / "kube")
    try:
        first = helm(tools, kube, helm_sql_env, "install", "fx", str(CHART), *install_flags)
        assert first.returncode == 0, first.stderr
        stored = kube.get(CRDS, None, CRD_NAME)
        assert stored is not None
        assert "region" not in schema_properties(stored)
        assert stored["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"

        # A customer's Plan, created through the API before the upgrade.
        sample = str(REPO / "k8s" / "samples" / "pro-monthly.yaml")
        created = subprocess.run(
            [
                str(tools.kubectl),
                "--kubeconfig",
                str(kube.kubeconfig_path),
                "apply",
                "-f",
                sample,
                "--validate=false",
                "-n",
                NAMESPACE,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert created.returncode == 0, created.stderr

        upgraded = helm(tools, kube, helm_sql_env, "upgrade", "fx", str(next_chart), *install_flags)
        assert upgraded.returncode == 0, upgraded.stderr
        stored = kube.get(CRDS, None, CRD_NAME)
        assert stored is not None
        assert schema_properties(stored)["region"] == {"type": "string", "maxLength": 40}
        assert stored["spec"] == changed["spec"]

        removed = helm(tools, kube, helm_sql_env, "uninstall", "fx", "--no-hooks")
        assert removed.returncode == 0, removed.stderr
        assert kube.objects("apps/v1/deployments", NAMESPACE) == []
        assert kube.get(CRDS, None, CRD_NAME) is not None  # kept: customers' Plans live in it
        assert kube.get(PLANS, NAMESPACE, "pro-monthly") is not None
    finally:
        kube.stop()


def test_a_crd_from_an_older_charts_crds_dir_is_adopted_as_documented(
    tools: Tools, tmp_path: Path, helm_sql_env: dict[str, str]
) -> None:
    """docs/deploy.md: label and annotate the CRD once, then the release owns and upgrades it."""
    flags = ["--no-hooks", "--server-side=false", "--disable-openapi-validation"]
    flags += ["--values", str(KEYS_VALUES), "--timeout", "60s"]
    kube = started_emulator(tmp_path / "kube")
    try:
        kube.register_crd(REPO / "k8s" / "crds" / "plan.yaml")  # as crds/ left it: no owner

        refused = helm(tools, kube, helm_sql_env, "install", "fx", str(CHART), *flags)
        assert refused.returncode != 0
        assert "invalid ownership metadata" in refused.stderr

        def kubectl(*args: str) -> None:
            cmd = [str(tools.kubectl), "--kubeconfig", str(kube.kubeconfig_path), *args]
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr

        kubectl("label", "crd", CRD_NAME, "app.kubernetes.io/managed-by=Helm", "--overwrite")
        kubectl(
            "annotate", "crd", CRD_NAME, "--overwrite",
            "meta.helm.sh/release-name=fx", f"meta.helm.sh/release-namespace={NAMESPACE}",
        )  # fmt: skip
        adopted = helm(tools, kube, helm_sql_env, "install", "fx", str(CHART), *flags)
        assert adopted.returncode == 0, adopted.stderr
        stored = kube.get(CRDS, None, CRD_NAME)
        assert stored is not None
        assert stored["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    finally:
        kube.stop()
