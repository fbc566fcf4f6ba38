"""bench/RESULTS.md: the generated part between markers; prose around it is kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.results import render_markdown, table

START, END = "<!-- results:start -->", "<!-- results:end -->"


def _generated(info: dict[str, str], runs: list[dict[str, Any]], command: str) -> str:
    lines = [START, "", f"Command: `{command}`", "", "| machine | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in info.items()]
    for n, run in enumerate(runs, 1):
        lines += [
            "", f"### Run {n} of {len(runs)} — {run['date']}", "",
            f"Load average (1/5/15 min) before: {run['load_before']}; after: "
            f"{run['load_after']}; the run took {run['seconds']:.0f} s.", "",
            render_markdown(table(run["figures"])), "",
        ]
        notes = [f"- {f.section} / {f.name}: {f.note}" for f in run["figures"] if f.note]
        lines += ["Notes:", "", *notes]
    return "\n".join([*lines, "", END])


def write_results(path: Path, info: dict[str, str], runs: list[dict[str, Any]],
                  command: str) -> None:
    generated = _generated(info, runs, command)
    text = path.read_text() if path.exists() else ""
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + generated + rest.split(END, 1)[1]
    else:
        text = "# Fluxus benchmark results\n\n" + generated + "\n"
    path.write_text(text)
