"""One measured figure beside its floor, and the table they print as."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    section: str  # api | webhook | renewal | pdf | memory
    name: str
    value: float
    unit: str
    floor: float | None = None  # the same quantity for the floor, measured in the same run
    floor_name: str = ""
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.floor is None or self.floor == 0:
            return None
        return self.value / self.floor


def _num(value: float | None) -> str:
    if value is None:
        return "–"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _ratio(ratio: float | None) -> str:
    if ratio is None:
        return "–"
    return f"{ratio:.3f}" if ratio >= 0.001 else f"{ratio:.1e}"


def table(figures: list[Figure]) -> list[list[str]]:
    rows = [["section", "figure", "value", "unit", "floor", "floor is", "ratio"]]
    for f in figures:
        ratio = f.ratio
        rows.append([f.section, f.name, _num(f.value), f.unit, _num(f.floor), f.floor_name,
                     _ratio(ratio)])
    return rows


def render_text(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_markdown(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


class SectionIncomplete(RuntimeError):
    """A section that did not do the work its figure times (fewer orders than due,
    notifications unprocessed, requests refused): its figure would be a rate of nothing."""


def require_done(section: str, what: str, done: int, wanted: int) -> None:
    """Raise SectionIncomplete unless `done` of `wanted` `what` were done."""
    if done < wanted:
        raise SectionIncomplete(f"{section}: only {done} of {wanted} {what}; no figure written")


def require_none(section: str, what: str, count: int) -> None:
    """Raise SectionIncomplete if any `what` happened (refused requests, failed jobs)."""
    if count:
        raise SectionIncomplete(f"{section}: {count} {what}; no figure written")
