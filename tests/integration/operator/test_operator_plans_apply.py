"""`fluxus plans apply`: the sample Plans loaded into PostgreSQL without Kubernetes."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.db.models import Plan

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
SAMPLES = REPO / "k8s" / "samples"
FLUXUS = str(Path(sys.executable).with_name("fluxus"))


def _apply(database_url: str, path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FLUXUS_DATABASE_URL": database_url, "FLUXUS_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [FLUXUS, "plans", "apply", "-f", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _sample_specs() -> dict[str, dict]:
    docs = [yaml.safe_load(p.read_text()) for p in sorted(SAMPLES.glob("*.yaml"))]
    return {doc["metadata"]["name"]: doc["spec"] for doc in docs}


def _rows(session: Session) -> dict[str, Plan]:
    session.expire_all()
    return {plan.slug: plan for plan in session.scalars(select(Plan))}


def test_the_samples_become_plans_and_a_second_apply_changes_nothing(
    database_url: str, session: Session
) -> None:
    first = _apply(database_url, SAMPLES)
    assert first.returncode == 0, first.stderr
    specs = _sample_specs()
    assert sorted(first.stdout.split("\n")[:-1]) == sorted(f"plan/{s} created" for s in specs)

    rows = _rows(session)
    assert set(rows) == set(specs)
    for slug, spec in specs.items():
        row = rows[slug]
        assert (row.name, row.price, row.billing_cycle) == (
            spec["displayName"],
            Decimal(spec["price"]),
            spec["billingCycle"],
        )
        assert row.features == spec.get("features", [])
        assert row.is_active is spec.get("active", True)
    stamps = {slug: row.updated_at for slug, row in rows.items()}

    second = _apply(database_url, SAMPLES)
    assert second.returncode == 0, second.stderr
    assert sorted(second.stdout.split("\n")[:-1]) == sorted(f"plan/{s} unchanged" for s in specs)
    assert {slug: row.updated_at for slug, row in _rows(session).items()} == stamps


def test_one_invalid_plan_refuses_the_whole_folder(
    database_url: str, session: Session, tmp_path: Path
) -> None:
    for sample in SAMPLES.glob("*.yaml"):
        (tmp_path / sample.name).write_text(sample.read_text())
    broken = yaml.safe_load((SAMPLES / "pro-monthly.yaml").read_text())
    broken["metadata"]["name"] = "zz-broken"
    broken["spec"]["renewal"]["schedule"] = "0 25 * * *"
    (tmp_path / "zz-broken.yaml").write_text(yaml.safe_dump(broken))

    result = _apply(database_url, tmp_path)
    assert result.returncode == 1
    assert "renewal.schedule" in result.stderr and "zz-broken" in result.stderr
    assert _rows(session) == {}


def test_a_single_file_can_be_applied(database_url: str, session: Session) -> None:
    result = _apply(database_url, SAMPLES / "starter-monthly.yaml")
    assert result.returncode == 0, result.stderr
    assert set(_rows(session)) == {"starter-monthly"}
