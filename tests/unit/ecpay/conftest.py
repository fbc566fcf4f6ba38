"""Fixtures for the ECPay unit tests: ECPay's shared vectors, read from the repo's sibling."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
VECTORS_DIR = REPO_ROOT.parent / "shared" / "ecpay"
VECTOR_FILES = {
    "checkmac_vector": "checkmac_vectors.jsonl",
    "aes_vector": "einvoice_aes_vectors.jsonl",
}


def load_vectors(name: str) -> list[dict[str, Any]]:
    """Every line of a vector file; a missing or empty file fails loudly, never skips."""
    path = VECTORS_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"ECPay test vectors missing: {path}")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    if not rows:
        raise AssertionError(f"{path} holds no vectors")
    return rows


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test asking for `checkmac_vector` or `aes_vector` runs once per shared vector."""
    for fixture_name, file_name in VECTOR_FILES.items():
        if fixture_name in metafunc.fixturenames:
            vectors = load_vectors(file_name)
            metafunc.parametrize(fixture_name, vectors, ids=[v["id"] for v in vectors])


@pytest.fixture(scope="session")
def all_checkmac_vectors() -> list[dict[str, Any]]:
    return load_vectors(VECTOR_FILES["checkmac_vector"])


@pytest.fixture(scope="session")
def all_aes_vectors() -> list[dict[str, Any]]:
    return load_vectors(VECTOR_FILES["aes_vector"])
