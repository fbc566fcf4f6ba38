"""skaffold.yaml and services/Dockerfile: well-formed, and everything they name exists and works."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.chart.helpers import REPO, Tools, helm_template, parse

pytestmark = pytest.mark.integration

SKAFFOLD = yaml.safe_load((REPO / "skaffold.yaml").read_text())
DOCKERFILE = REPO / "services" / "Dockerfile"


def configs() -> list[tuple[str, dict[str, Any]]]:
    """(name, section) for the top level and each profile."""
    return [("top", SKAFFOLD)] + [(p["name"], p) for p in SKAFFOLD.get("profiles", [])]


def releases() -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, release)
        for name, section in configs()
        for release in section.get("deploy", {}).get("helm", {}).get("releases", [])
    ]


def test_skaffold_yaml_matches_our_schema() -> None:
    schema = json.loads((REPO / "tests" / "chart" / "skaffold.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(SKAFFOLD)
    assert {p["name"] for p in SKAFFOLD["profiles"]} >= {"dev", "production"}


def test_skaffold_artifacts_point_at_the_dockerfile() -> None:
    for _, section in configs():
        for artifact in section.get("build", {}).get("artifacts", []):
            context = REPO / artifact["context"]
            assert (context / artifact["docker"]["dockerfile"]).resolve() == DOCKERFILE


@pytest.mark.parametrize(("profile", "release"), releases(), ids=[n for n, _ in releases()])
def test_skaffold_helm_releases_render(
    profile: str, release: dict[str, Any], tools: Tools, tmp_path: Path
) -> None:
    chart = REPO / release["chartPath"]
    assert (chart / "Chart.yaml").is_file()
    values = [REPO / v for v in release.get("valuesFiles", [])]
    assert all(v.is_file() for v in values), values
    images = {a["image"] for _, s in configs() for a in s.get("build", {}).get("artifacts", [])}
    for template in release.get("setValueTemplates", {}).values():
        for name in re.findall(r"IMAGE_(?:REPO|TAG|DIGEST)_(\w+)", template):
            assert name in images
    result = helm_template(
        tools, values, chart=chart, release=release["name"], namespace=release["namespace"]
    )
    assert result.returncode == 0, result.stderr
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(result.stdout)
    check = subprocess.run(
        [str(tools.kubernetes_validate), "--strict", "-k", "1.31.0", str(rendered)],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_dev_profile_manifests_exist_and_port_forwards_hit_real_services(tools: Tools) -> None:
    (dev,) = [p for p in SKAFFOLD["profiles"] if p["name"] == "dev"]
    assert dev["activation"] == [{"command": "dev"}]
    services: set[str] = set()
    for path in dev["manifests"]["rawYaml"]:
        docs = parse((REPO / path).read_text())
        services |= {d["metadata"]["name"] for d in docs if d["kind"] == "Service"}
        check = subprocess.run(
            [str(tools.kubernetes_validate), "--strict", "-k", "1.31.0", str(REPO / path)],
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, check.stdout + check.stderr
    (release,) = dev["deploy"]["helm"]["releases"]
    result = helm_template(
        tools,
        [REPO / v for v in release["valuesFiles"]],
        release=release["name"],
        namespace=release["namespace"],
    )
    chart_services = {
        d["metadata"]["name"]: {p["port"] for p in d["spec"]["ports"]}
        for d in parse(result.stdout)
        if d["kind"] == "Service"
    }
    forwards = {f["resourceName"]: f["port"] for f in dev["portForward"]}
    assert set(forwards) == {"fluxus-api", "fluxus-payment", "fluxus-ui", "fluxus-ecpay-sim"}
    for name, port in forwards.items():
        assert name in services or port in chart_services.get(name, set()), name
    # The chart's defaults in the dev values point at the k8s/dev services.
    config = yaml.safe_load((REPO / release["valuesFiles"][0]).read_text())
    assert "fluxus-postgresql" in config["secrets"]["values"]["FLUXUS_DATABASE_URL"]
    assert "fluxus-ecpay-sim" in config["config"]["FLUXUS_ECPAY_GATEWAY_URL"]
    assert {"fluxus-postgresql", "fluxus-redis", "fluxus-ecpay-sim"} <= services


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def test_dockerfile_is_multi_stage_and_runs_as_non_root() -> None:
    steps = dockerfile_instructions()
    stages = [args for op, args in steps if op == "FROM"]
    assert len(stages) == 2 and stages[0].endswith("AS builder")
    assert any("python:3.11-slim" in args for op, args in steps if op == "ARG")
    runtime = steps[[i for i, (op, _) in enumerate(steps) if op == "FROM"][-1] :]
    users = [args for op, args in runtime if op == "USER"]
    assert users and users[-1].split(":")[0] == "10001"
    # The runtime stage installs nothing: no compilers, no package managers.
    for op, args in runtime:
        if op == "RUN":
            assert not re.search(r"apt-get|apk |pip install|gcc|build-essential", args), args
    assert ("ENTRYPOINT", '["fluxus"]') in runtime


def test_dockerfile_copies_only_paths_that_exist_and_are_not_dockerignored() -> None:
    ignore = (REPO / ".dockerignore").read_text().splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    for op, args in dockerfile_instructions():
        if op == "COPY" and "--from=" not in args:
            *sources, _dest = args.split()
            for source in sources:
                assert (REPO / source).exists(), source
                assert source.rstrip("/") in allowed, f"{source} is excluded by .dockerignore"
