"""`python bench/worker_memory.py [--jobs N]`: does a long-lived worker's memory stay flat?

`fluxus worker` runs every job in one process, so anything a job leaves behind would pile up
over thousands of jobs. This renders N invoice PDFs (fpdf2 embedding the CJK font: the
heaviest job Fluxus has) with one `fluxus worker --queues invoices`, run inline (the default)
and then with `--fork`, and prints the worker's resident memory (its process tree, sampled
from /proc) after every tenth of the jobs, with the rate. It asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `bench` and `services` importable
    sys.path.insert(0, str(ROOT))

from redis import Redis  # noqa: E402

from bench import seed  # noqa: E402
from bench.infra import Stack, fresh_bed, pg_cursor  # noqa: E402
from bench.memory import _children_map, _status_kib, tree  # noqa: E402
from services.worker.queues import enqueue_all  # noqa: E402


def _tree_rss_mib(pid: int) -> float:
    return sum(_status_kib(p, "VmRSS") for p in tree(pid, _children_map())) / 1024


def _one_mode(stack: Stack, redis_url: str, ids: list[str], label: str,
              extra: list[str]) -> None:
    pdf_dir = stack.workdir / f"pdf-{label}"
    pdf_dir.mkdir()
    enqueue_all(Redis.from_url(redis_url),
                [("render_invoice_pdf", (invoice_id,), None) for invoice_id in ids])
    started = time.monotonic()
    worker = stack.fluxus(f"worker-{label}", "worker", "--queues", "invoices",
                          "--without-scheduler", *extra,
                          extra_env={"FLUXUS_INVOICE_DIR": str(pdf_dir)})
    print(f"fluxus worker {' '.join(extra) or '(inline)'}: {len(ids)} invoice PDFs")
    marks = {len(ids) * step // 10 for step in range(1, 11)}
    peak = 0.0
    while True:
        done = sum(1 for _ in pdf_dir.glob("*.pdf"))
        rss = _tree_rss_mib(worker.pid)
        peak = max(peak, rss)
        if done in marks:
            marks.discard(done)
            seconds = time.monotonic() - started
            print(f"  {done:6d} jobs  {seconds:6.1f} s  {done / seconds:6.1f} jobs/s  "
                  f"RSS {rss:6.1f} MiB (peak so far {peak:.1f})", flush=True)
        if done >= len(ids) or worker.popen.poll() is not None:
            break
        time.sleep(0.1)  # a sampling interval, not a wait for a condition
    stack.stop(worker)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=2000, help="invoice PDFs per mode")
    args = parser.parse_args()
    with fresh_bed("fluxus-worker-memory-") as bed:
        with pg_cursor(bed.dbname) as cur:
            ids = seed.add_invoices(cur, bed.plans[seed.PLAN_SLUG], args.jobs, prefix="im")
        _one_mode(bed.stack, bed.redis_url, ids, "inline", [])
        _one_mode(bed.stack, bed.redis_url, ids, "fork", ["--fork"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
