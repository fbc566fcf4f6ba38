"""Plan manifests read from YAML files, for `fluxus plans apply` (no Kubernetes involved)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from services.core.errors import ValidationError

GROUP = "billing.fluxus.dev"
VERSION = "v1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "Plan"


@dataclass(frozen=True)
class PlanManifest:
    """One Plan document: its slug (metadata.name), spec and where it came from."""

    slug: str
    spec: dict[str, Any]
    source: str


def manifest_files(path: Path) -> list[Path]:
    """The YAML files at ``path``: the file itself, or a folder's *.yaml / *.yml, sorted."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    if path.is_file():
        return [path]
    raise ValidationError(f"{path} is neither a file nor a folder")


def load_plans(path: Path) -> list[PlanManifest]:
    """Every Plan document under ``path``; other kinds are refused so a typo is not ignored."""
    plans: list[PlanManifest] = []
    for file in manifest_files(path):
        for index, doc in enumerate(yaml.safe_load_all(file.read_text(encoding="utf-8"))):
            if doc is None:
                continue
            source = f"{file}#{index}"
            plans.append(_plan_manifest(doc, source))
    slugs = [p.slug for p in plans]
    duplicates = sorted({s for s in slugs if slugs.count(s) > 1})
    if duplicates:
        raise ValidationError(f"Plans defined more than once: {', '.join(duplicates)}")
    return plans


def _plan_manifest(doc: Any, source: str) -> PlanManifest:
    if not isinstance(doc, dict) or doc.get("kind") != KIND or doc.get("apiVersion") != API_VERSION:
        raise ValidationError(f"{source}: not a {API_VERSION} {KIND} document")
    name = (doc.get("metadata") or {}).get("name")
    spec = doc.get("spec")
    if not isinstance(name, str) or not isinstance(spec, dict):
        raise ValidationError(f"{source}: a Plan needs metadata.name and a spec")
    return PlanManifest(slug=name, spec=spec, source=source)
