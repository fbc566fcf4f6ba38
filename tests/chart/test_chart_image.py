"""The image the chart runs can print a Taiwanese invoice (issue #22.9): the font the Dockerfile
installs in the builder and copies into the runtime stage is one the invoice renderer picks,
and with it the PDF carries the Chinese text (without it, every Chinese character is lost)."""

from __future__ import annotations

import re
import subprocess
import uuid
import zlib
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

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
