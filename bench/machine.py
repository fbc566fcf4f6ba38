"""The machine a run measured: cores, memory, CPU, kernel, Python, PostgreSQL, load."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

from bench.infra import pg_cursor


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _mem_total() -> str:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def describe() -> dict[str, str]:
    with pg_cursor("postgres") as cur:
        cur.execute("SHOW server_version")
        postgres = str(cur.fetchone()[0])
    return {
        "cores (nproc)": str(os.cpu_count()),
        "memory": _mem_total(),
        "CPU": _cpu_model(),
        "kernel": platform.release(),
        "Python": sys.version.split()[0],
        "PostgreSQL": postgres,
    }
