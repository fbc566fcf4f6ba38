"""Invoice numbers: sequential per year, e.g. FX2026-000123."""

from __future__ import annotations

INVOICE_PREFIX = "FX"


def format_invoice_number(year: int, sequence: int) -> str:
    if sequence < 1:
        raise ValueError("invoice sequences start at 1")
    return f"{INVOICE_PREFIX}{year}-{sequence:06d}"
