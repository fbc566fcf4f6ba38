"""Backups leave the cluster: an S3-compatible bucket after pg_dump succeeds (#22.11).

The renders here; the upload step itself runs for real in test_chart_backup_upload.py.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.chart.helpers import Render, Tools, helm_template, parse

pytestmark = pytest.mark.integration

OFFSITE = [
    "backup.enabled=true",
    "backup.objectStore.bucket=fluxus-backups",
    "backup.objectStore.endpoint=https://s3.example.tw",
    "backup.objectStore.prefix=prod/db",
    "backup.objectStore.existingSecret=backup-s3",
]


def _render(tools: Tools, *sets: str) -> Render:
    result = helm_template(tools, sets=list(sets))
    assert result.returncode == 0, result.stderr
    return Render("custom", result.stdout, parse(result.stdout))


def _pod(r: Render) -> dict[str, Any]:
    job = r.one("CronJob", "fx-fluxus-backup")["spec"]["jobTemplate"]["spec"]
    assert job["activeDeadlineSeconds"] == 3600  # a hung dump or upload is stopped
    pod: dict[str, Any] = job["template"]["spec"]
    return pod


def test_the_dump_is_uploaded_only_after_pg_dump_succeeds(tools: Tools) -> None:
    pod = _pod(_render(tools, *OFFSITE))
    # An init container must exit 0 before the upload container starts at all.
    (dump,) = pod["initContainers"]
    (upload,) = pod["containers"]
    assert dump["name"] == "pg-dump" and "pg_dump" in dump["args"][0]
    assert upload["name"] == "upload" and "aws s3 cp" in upload["args"][0]
    assert upload["image"] == "amazon/aws-cli:2.22.35"  # a pinned release, not `latest`
    env = {e["name"]: e for e in upload["env"]}
    assert env["FLUXUS_BACKUP_BUCKET"]["value"] == "fluxus-backups"
    assert env["FLUXUS_BACKUP_PREFIX"]["value"] == "prod/db/"
    assert env["AWS_ENDPOINT_URL"]["value"] == "https://s3.example.tw"
    # Credentials come only from the named Secret, never from values or the chart's Secrets.
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert env[key]["valueFrom"]["secretKeyRef"] == {"name": "backup-s3", "key": key}
        assert "value" not in env[key]
    # The uploader reads the dump and cannot change it; the claim still keeps a local copy.
    mounts = {m["name"]: m for m in upload["volumeMounts"]}
    assert mounts["backups"]["readOnly"] is True
    assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == "fx-fluxus-backups"
    assert upload["securityContext"]["readOnlyRootFilesystem"] is True


def test_the_off_cluster_render_is_valid_kubernetes(tools: Tools, tmp_path: Path) -> None:
    rendered = tmp_path / "offsite.yaml"
    rendered.write_text(_render(tools, *OFFSITE, "backup.persistence.enabled=false").text)
    result = subprocess.run(
        [str(tools.kubernetes_validate), "--strict", "-k", "1.31.0", str(rendered)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_uploader_image_is_configurable_and_can_be_pinned_by_digest(tools: Tools) -> None:
    digest = "sha256:" + "cd" * 32
    pod = _pod(
        _render(
            tools,
            *OFFSITE,
            "backup.objectStore.image.repository=registry.example.tw/aws-cli",
            f"backup.objectStore.image.digest={digest}",
        )
    )
    assert pod["containers"][0]["image"] == f"registry.example.tw/aws-cli@{digest}"


def test_off_cluster_only_keeps_no_claim(tools: Tools) -> None:
    r = _render(tools, *OFFSITE, "backup.persistence.enabled=false")
    assert r.kind("PersistentVolumeClaim") == []
    backups = next(v for v in _pod(r)["volumes"] if v["name"] == "backups")
    assert backups == {"name": "backups", "emptyDir": {}}


def test_the_backup_policy_opens_https_only_with_an_object_store(tools: Tools) -> None:
    def ports(r: Render) -> set[int]:
        policy = r.one("NetworkPolicy", "fx-fluxus-backup")
        return {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}

    assert ports(_render(tools, "backup.enabled=true")) == {53, 5432}
    assert ports(_render(tools, *OFFSITE)) == {53, 5432, 443}
    plain = _pod(_render(tools, "backup.enabled=true"))
    assert "initContainers" not in plain
    assert [c["name"] for c in plain["containers"]] == ["pg-dump"]


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (
            ["backup.enabled=true", "backup.objectStore.bucket=fluxus-backups"],
            "backup.objectStore.existingSecret is empty",
        ),
        (
            ["backup.enabled=true", "backup.persistence.enabled=false"],
            "every dump would be lost",
        ),
    ],
)
def test_unsafe_backup_settings_fail_with_a_clear_message(
    tools: Tools, sets: list[str], message: str
) -> None:
    result = helm_template(tools, sets=sets)
    assert result.returncode != 0
    assert message in result.stderr
