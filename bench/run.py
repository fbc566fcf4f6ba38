"""`python bench/run.py [--quick]`: every Fluxus benchmark, each figure beside its floor."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `bench` and `services` importable
    sys.path.insert(0, str(ROOT))

from bench import api_bench, machine, pdf_bench, renewal_bench, seed, webhook_bench  # noqa: E402
from bench.config import BenchConfig  # noqa: E402
from bench.infra import fresh_bed  # noqa: E402
from bench.loadgen import have_wrk, use_python_generator  # noqa: E402
from bench.memory import MemorySampler  # noqa: E402
from bench.report import write_results  # noqa: E402
from bench.results import Figure, SectionIncomplete, render_text, table  # noqa: E402


def _python_floor_kib() -> int:
    """Peak RSS of a bare interpreter, the least any Python process needs. Read from its own
    VmHWM: wait4's ru_maxrss would count the forked copy of this (large) process before exec."""
    status = subprocess.run([sys.executable, "-c", "print(open('/proc/self/status').read())"],
                            capture_output=True, text=True, check=True).stdout
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    assert found is not None, status
    return int(found[1])


def _memory_figures(sampler: MemorySampler) -> list[Figure]:
    roles = sampler.roles
    flask = roles.get("floor (bare Flask)")
    python = _python_floor_kib()
    figures = []
    for role in ("api", "payment", "worker", "renew", "invoice worker"):
        memory = roles.get(role)
        if memory is None:
            continue
        rss_floor = pss_floor = python / 1024
        floor_name = "bare `python -c pass`"
        if flask is not None and role in ("api", "payment"):
            rss_floor, pss_floor = flask.peak_tree_kib / 1024, flask.peak_pss_kib / 1024
            floor_name = "bare Flask under gunicorn"
        figures.append(Figure(
            "memory", f"{role} peak RSS", memory.peak_tree_kib / 1024, "MiB", rss_floor,
            floor_name, f"largest RSS sum over the live processes at one instant "
            f"({memory.processes} processes seen); largest single process "
            f"{memory.largest_process_kib / 1024:.0f} MiB (VmHWM)"))
        figures.append(Figure(
            "memory", f"{role} peak PSS", memory.peak_pss_kib / 1024, "MiB", pss_floor,
            floor_name, "largest Pss sum at one instant: pages the role's processes share "
            "(forked from one parent) counted once, as the pod's memory cgroup charges them"))
    return figures


SECTIONS = ("api", "webhook", "renewal", "pdf")


def one_run(cfg: BenchConfig, separate_renewal: bool, keep: bool,
            sections: tuple[str, ...] = SECTIONS) -> list[Figure]:
    with fresh_bed("fluxus-bench-", keep) as bed:
        if keep:
            print(f"  logs in {bed.stack.workdir}", flush=True)
        stack, dbname, plans = bed.stack, bed.dbname, bed.plans
        sampler = MemorySampler().start()
        try:
            figures: list[Figure] = []
            if "api" in sections:
                figures += _progress(api_bench.run(stack, cfg, dbname, plans[seed.PLAN_SLUG],
                                                   sampler))
            if "webhook" in sections:
                figures += _progress(webhook_bench.run(stack, cfg, dbname,
                                                       plans[seed.PLAN_SLUG], sampler))
            if "renewal" in sections:
                figures += _progress(renewal_bench.run(
                    stack, cfg, dbname, plans[seed.RENEWAL_SLUG], sampler,
                    separate=separate_renewal))
            if "pdf" in sections:
                figures += _progress(pdf_bench.run(stack, cfg, dbname, bed.redis_url,
                                                   plans[seed.PLAN_SLUG], sampler))
        finally:
            sampler.stop()
        return figures + _memory_figures(sampler)


def _progress(figures: list[Figure]) -> list[Figure]:
    for f in figures:
        print(f"  {f.section:8} {f.name}: {f.value:,.2f} {f.unit}", flush=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--runs", type=int, default=1, help="repeat the whole set (default 1)")
    parser.add_argument("--renewals", type=int, default=None,
                        help="due subscriptions to renew (default 100000; --quick 1000)")
    parser.add_argument("--renewal-mode", choices=("together", "separate"), default="separate",
                        help="workers drain while renew enqueues, or after it (default)")
    parser.add_argument("--only", choices=SECTIONS, action="append", default=None,
                        help="run only this section (repeatable); writes no results file "
                             "unless --results is given")
    parser.add_argument("--results", type=Path, default=None,
                        help="write the results there (default bench/RESULTS.md; none with "
                             "--quick or --only)")
    parser.add_argument("--python-load", action="store_true",
                        help="the threaded Python load generator instead of wrk")
    parser.add_argument("--keep-logs", action="store_true",
                        help="keep each run's process logs and scripts (path printed)")
    args = parser.parse_args(argv)
    cfg = BenchConfig.make(args.quick, args.renewals)
    if args.python_load:
        use_python_generator()
    sections = tuple(args.only or SECTIONS)
    partial = args.quick or args.only
    results = args.results or (None if partial else ROOT / "bench" / "RESULTS.md")
    info = machine.describe()
    print("machine: " + "; ".join(f"{k} {v}" for k, v in info.items()))
    if not have_wrk():
        print("load generator: threaded Python (wrk is missing or --python-load was given)")
    runs = []
    for n in range(args.runs):
        before, started = machine.load_average(), time.monotonic()
        print(f"run {n + 1}/{args.runs} (load average {before})", flush=True)
        try:
            figures = one_run(cfg, args.renewal_mode == "separate", args.keep_logs, sections)
        except SectionIncomplete as exc:
            print(f"FAILED, nothing written: {exc}", file=sys.stderr, flush=True)
            return 1
        runs.append({"figures": figures, "load_before": before,
                     "load_after": machine.load_average(),
                     "seconds": time.monotonic() - started,
                     "date": datetime.now(UTC).isoformat(timespec="seconds")})
        print(render_text(table(figures)), flush=True)
    if results is not None:
        write_results(results, info, runs, " ".join(["python", "bench/run.py", *sys.argv[1:]]))
        print(f"wrote {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
