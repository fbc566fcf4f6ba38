"""Helpers for the chart tests: the real tools (installed on demand) and cached renders."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "fluxus"
CI_VALUES = sorted((CHART / "ci").glob("*.yaml"))
# Every variant: the defaults plus each ci/*.yaml file.
VARIANTS: dict[str, list[Path]] = {"default": [], **{p.stem: [p] for p in CI_VALUES}}
KUBE_VERSION = "1.31.0"
RELEASE = "fx"
NAMESPACE = "billing"
API_VERSIONS = ("keda.sh/v1alpha1", "monitoring.coreos.com/v1")
# The keys a production install must bring (the chart generates none); first, so a variant wins.
KEYS_VALUES = Path(__file__).with_name("keys-values.yaml")


@dataclass(frozen=True)
class Tools:
    helm: Path
    kubectl: Path
    node_modules: Path
    kubernetes_validate: Path


@pytest.fixture(scope="session")
def tools() -> Tools:
    """Run scripts/install-tools.sh (fast when already done); a missing tool fails, never skips."""
    result = subprocess.run(
        [str(REPO / "scripts" / "install-tools.sh")], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"install-tools.sh failed:\n{result.stdout}\n{result.stderr}"
    bin_dir = REPO / ".tools" / "bin"
    found = Tools(
        helm=bin_dir / "helm",
        kubectl=bin_dir / "kubectl",
        node_modules=REPO / ".tools" / "node" / "node_modules",
        kubernetes_validate=Path(__import__("sys").executable).parent / "kubernetes-validate",
    )
    for path in (found.helm, found.kubectl, found.node_modules, found.kubernetes_validate):
        assert path.exists(), f"required tool missing: {path}"
    return found


def helm_template(
    tools: Tools,
    values: Sequence[Path] = (),
    sets: Sequence[str] = (),
    chart: Path = CHART,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
    keys: bool = True,
) -> subprocess.CompletedProcess[str]:
    """`helm template` of the chart with `values` (after KEYS_VALUES unless keys=False)."""
    if keys:
        values = [KEYS_VALUES, *values]
    cmd = [str(tools.helm), "template", release, str(chart), "--namespace", namespace]
    cmd += ["--include-crds", "--kube-version", KUBE_VERSION]
    for api in API_VERSIONS:
        cmd += ["--api-versions", api]
    for path in values:
        cmd += ["--values", str(path)]
    for item in sets:
        cmd += ["--set", item]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def parse(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


@dataclass
class Render:
    name: str
    text: str
    docs: list[dict[str, Any]]

    def kind(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["kind"] == kind]

    def one(self, kind: str, name: str) -> dict[str, Any]:
        matches = [d for d in self.kind(kind) if d["metadata"]["name"] == name]
        assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
        return matches[0]


@pytest.fixture(scope="session")
def render(tools: Tools) -> Callable[[str], Render]:
    """render(variant) -> the parsed `helm template` output, cached per session."""
    cache: dict[str, Render] = {}

    def get(variant: str) -> Render:
        if variant not in cache:
            result = helm_template(tools, VARIANTS[variant])
            assert result.returncode == 0, f"helm template ({variant}) failed:\n{result.stderr}"
            cache[variant] = Render(variant, result.stdout, parse(result.stdout))
        return cache[variant]

    return get


def pod_specs(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(kind/name, pod spec) of every workload in a render."""
    out = []
    for doc in docs:
        spec = doc.get("spec", {})
        if doc["kind"] in ("Deployment", "Job"):
            out.append((f"{doc['kind']}/{doc['metadata']['name']}", spec["template"]["spec"]))
        elif doc["kind"] == "CronJob":
            pod = spec["jobTemplate"]["spec"]["template"]["spec"]
            out.append((f"CronJob/{doc['metadata']['name']}", pod))
    return out
