"""The backup CronJob's two shell steps, run for real: pg_dump of a migrated database, then
the upload to a local S3-compatible server (moto), then a restore listing of what arrived.

The scripts are taken from the rendered CronJob (no copy of them lives here); only the paths
differ from a cluster (FLUXUS_BACKUP_DIR and HOME point into the test's directory), and
`aws` is the PyPI awscli (v1) where the image has v2: `aws s3 cp` and the AWS_* variables
the step uses mean the same in both. moto and awscli live in .tools/s3-venv
(scripts/install-tools.sh, from the hashed scripts/s3-tools.lock): botocore cannot share the
project's environment (it needs python-dateutil < 3).
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.chart.helpers import REPO, Tools, helm_template, parse

pytestmark = pytest.mark.integration

BUCKET = "fluxus-backups"
SECRET = {"AWS_ACCESS_KEY_ID": "backup-writer", "AWS_SECRET_ACCESS_KEY": "not-a-real-key"}
S3_BIN = REPO / ".tools" / "s3-venv" / "bin"


def _free_port() -> int:
    """A free port in 9750-9799, the range this project's hand-started servers use."""
    for port in range(9750, 9800):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError("no free port in 9750-9799")


@pytest.fixture
def s3_endpoint(tools: Tools, tmp_path: Path) -> Iterator[str]:
    """moto's S3-compatible server on loopback, answering before the test starts."""
    assert (S3_BIN / "moto_server").exists(), "scripts/install-tools.sh did not make s3-venv"
    port = _free_port()
    log = (tmp_path / "moto.log").open("w")
    server = subprocess.Popen(
        [str(S3_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:  # poll until it answers (or died, or the deadline passed)
            assert server.poll() is None, (tmp_path / "moto.log").read_text()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            try:
                connection.request("GET", "/")
                connection.getresponse().read()
                break  # an HTTP answer of any status: it is serving
            except OSError:
                assert time.monotonic() < deadline, "moto_server did not start in 30 s"
                time.sleep(0.1)
            finally:
                connection.close()
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def _aws(endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{S3_BIN}:/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1", **SECRET}
    return subprocess.run(
        [str(S3_BIN / "aws"), "--endpoint-url", endpoint, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _backup_containers(tools: Tools, endpoint: str) -> dict[str, dict[str, Any]]:
    result = helm_template(
        tools,
        sets=[
            "backup.enabled=true",
            f"backup.objectStore.bucket={BUCKET}",
            f"backup.objectStore.endpoint={endpoint}",
            "backup.objectStore.prefix=prod/db/",
            "backup.objectStore.existingSecret=backup-s3",
        ],
    )
    assert result.returncode == 0, result.stderr
    (cronjob,) = [d for d in parse(result.stdout) if d["kind"] == "CronJob"]
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return {c["name"]: c for c in pod["initContainers"] + pod["containers"]}


def _run_step(
    container: dict[str, Any], env: dict[str, str], workdir: Path
) -> subprocess.CompletedProcess[str]:
    """Run a container's `sh -ec <script>` with its literal env, plus `env` (Secrets, paths)."""
    assert container["command"] == ["/bin/sh", "-ec"]
    literal = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    full = {"PATH": f"{S3_BIN}:/usr/bin:/bin", **literal, **env}
    return subprocess.run(
        ["/bin/sh", "-ec", container["args"][0]],
        env=full,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_successful_dump_is_uploaded_and_restorable(
    tools: Tools, database_url: str, s3_endpoint: str, tmp_path: Path
) -> None:
    assert _aws(s3_endpoint, "s3", "mb", f"s3://{BUCKET}").returncode == 0
    steps = _backup_containers(tools, s3_endpoint)
    backups = tmp_path / "backups"
    backups.mkdir()
    paths = {"FLUXUS_BACKUP_DIR": str(backups), "HOME": str(tmp_path)}

    # The database URL as the chart's Secret holds it (with the SQLAlchemy driver suffix).
    assert database_url.startswith("postgresql+psycopg2://")
    dump = _run_step(steps["pg-dump"], {**paths, "FLUXUS_DATABASE_URL": database_url}, tmp_path)
    assert dump.returncode == 0, dump.stderr
    name = (backups / ".latest-dump").read_text().strip()
    assert name.startswith("fluxus-") and name.endswith(".dump")

    upload = _run_step(steps["upload"], {**paths, **SECRET}, tmp_path)
    assert upload.returncode == 0, upload.stderr
    assert f"uploaded s3://{BUCKET}/prod/db/{name}" in upload.stdout

    listed = _aws(s3_endpoint, "s3", "ls", "--recursive", f"s3://{BUCKET}/")
    assert [line.split()[-1] for line in listed.stdout.splitlines()] == [f"prod/db/{name}"]
    fetched = tmp_path / "fetched.dump"
    got = _aws(s3_endpoint, "s3", "cp", f"s3://{BUCKET}/prod/db/{name}", str(fetched))
    assert got.returncode == 0, got.stderr
    assert fetched.read_bytes() == (backups / name).read_bytes()
    # What a restore would see: the billing tables and the migration revision.
    toc = subprocess.run(
        ["pg_restore", "--list", str(fetched)], capture_output=True, text=True, timeout=60
    )
    assert toc.returncode == 0, toc.stderr
    assert "TABLE public alembic_version" in toc.stdout
    assert "TABLE public plans" in toc.stdout


def test_a_failed_dump_names_nothing_to_upload(
    tools: Tools, s3_endpoint: str, tmp_path: Path
) -> None:
    assert _aws(s3_endpoint, "s3", "mb", f"s3://{BUCKET}").returncode == 0
    steps = _backup_containers(tools, s3_endpoint)
    backups = tmp_path / "backups"
    backups.mkdir()
    paths = {"FLUXUS_BACKUP_DIR": str(backups), "HOME": str(tmp_path)}
    gone = "postgresql+psycopg2://postgres@127.0.0.1:5432/no_such_database_here"
    dump = _run_step(steps["pg-dump"], {**paths, "FLUXUS_DATABASE_URL": gone}, tmp_path)
    assert dump.returncode != 0
    assert not (backups / ".latest-dump").exists()
    assert list(backups.glob("fluxus-*.dump")) == []
    # Kubernetes would not start the upload; had it started, it uploads nothing.
    upload = _run_step(steps["upload"], {**paths, **SECRET}, tmp_path)
    assert upload.returncode != 0
    listed = _aws(s3_endpoint, "s3", "ls", "--recursive", f"s3://{BUCKET}/")
    assert listed.returncode in (0, 1) and listed.stdout.strip() == ""
