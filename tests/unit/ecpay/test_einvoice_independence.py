"""The e-invoice protocol package must not reach into services.core, directly or through
the ecpay modules it imports (it is usable with nothing but a clock and keys)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO_ROOT = Path(__file__).resolve().parents[3]


def _module_file(name: str) -> Path | None:
    base = REPO_ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.startswith("services")}


def test_no_services_core_import_is_reachable_from_the_einvoice_package() -> None:
    seen: set[str] = set()
    todo = [
        f"services.ecpay.einvoice.{p.stem}"
        for p in (REPO_ROOT / "services/ecpay/einvoice").glob("*.py")
    ]
    assert len(todo) >= 6
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = _module_file(name)
        if path is not None:
            todo += sorted(_imports(path))
    # Parent packages are imported too; their __init__ files count.
    reached = {name for name in seen if _module_file(name) is not None}
    assert not [name for name in reached if name.startswith("services.core")], sorted(reached)
    assert "services.ecpay.aes" in reached
