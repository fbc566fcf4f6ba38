"""Invoice PDFs: one inline `fluxus worker --queues invoices` renders N queued invoices, beside
the renderer alone (the same page drawn in this process, the font already parsed: no
database, no queue, no file)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from redis import Redis

from bench import seed
from bench.config import BenchConfig
from bench.infra import Stack, pg_cursor, wait_until
from bench.memory import MemorySampler
from bench.results import Figure, require_done
from services.core.config import Settings
from services.core.db.models import Invoice
from services.core.usecases.invoice_pdf import build_pdf, find_cjk_font
from services.worker.queues import enqueue_all, queue

SECTION = "pdf"


def renderer_rate(count: int) -> float:
    """PDFs a second from `build_pdf` alone, after one warm-up document parsed the font."""
    font = find_cjk_font()
    if font is None:
        raise RuntimeError("no CJK font: install fonts-wqy-microhei (scripts/bootstrap.sh)")
    now = datetime.now(UTC)
    invoice = Invoice(
        id=uuid.uuid4(), invoice_number="BENCH-FLOOR-0000001", order_id=uuid.uuid4(),
        user_id=uuid.uuid4(), amount=Decimal(943), tax_amount=Decimal(47),
        total_amount=Decimal(990), currency="TWD", buyer_name="王小明",
        buyer_email="bench@example.tw", buyer_tax_id="", description="", issued_at=now,
        paid_at=now)

    # The page the worker draws: its seller (the bench's processes set none: the defaults)
    # and seed.add_invoices's description as the line item.
    seller = {f.name: f.default for f in fields(Settings)}
    item = f"Bench 月繳 {now:%Y-%m-%d} – {now + timedelta(days=31):%Y-%m-%d}"

    def one() -> bytes:
        return build_pdf(invoice, seller_name=seller["seller_name"],
                         seller_tax_id=seller["seller_tax_id"], item=item, font=font)

    one()
    started = time.perf_counter()
    for _ in range(count):
        one()
    return count / (time.perf_counter() - started)


def _rendered(dbname: str) -> int:
    with pg_cursor(dbname) as cur:
        cur.execute("SELECT count(*) FROM invoices WHERE invoice_number LIKE 'BENCH-IV-%' "
                    "AND pdf_url IS NOT NULL")
        return int(cur.fetchone()[0])


def _wait(check: Callable[[], bool], what: str, timeout: float) -> None:
    # Out of time is not an error here: require_done below refuses to write a figure.
    try:
        wait_until(check, what, timeout)
    except TimeoutError as exc:
        print(f"  {SECTION}: {exc}", flush=True)


def run(stack: Stack, cfg: BenchConfig, dbname: str, redis_url: str, plan_id: uuid.UUID,
        sampler: MemorySampler) -> list[Figure]:
    n = cfg.invoice_pdfs
    with pg_cursor(dbname) as cur:
        ids = seed.add_invoices(cur, plan_id, n, prefix="iv")
    floor = renderer_rate(max(10, n // 4))
    redis = Redis.from_url(redis_url)
    # Earlier sections' payments queued their own invoices' PDFs: this section times its own.
    queue("invoices", redis).empty()
    enqueue_all(redis, [("render_invoice_pdf", (invoice_id,), None) for invoice_id in ids])
    pdf_dir: Path = stack.workdir / "invoice-pdfs"
    pdf_dir.mkdir()
    started = time.monotonic()
    worker = stack.fluxus("worker-invoices", "worker", "--queues", "invoices",
                          "--without-scheduler", extra_env={"FLUXUS_INVOICE_DIR": str(pdf_dir)})
    sampler.watch("invoice worker", worker.pid)
    _wait(lambda: any(pdf_dir.glob("BENCH-IV-*.pdf")) or worker.popen.poll() is not None,
          "the first invoice PDF", cfg.drain_seconds)
    first = time.monotonic()
    _wait(lambda: _rendered(dbname) >= n or worker.popen.poll() is not None,
          f"{n} invoice PDFs", cfg.drain_seconds)
    last = time.monotonic()
    stack.stop(worker)
    files = sum(1 for _ in pdf_dir.glob("BENCH-IV-*.pdf"))
    require_done(SECTION, "invoices with their PDF recorded", _rendered(dbname), n)
    require_done(SECTION, "PDF files written", files, n)
    steady = (n - 1) / (last - first) if last > first else 0.0
    return [
        Figure(SECTION, "invoice PDFs by one inline worker", steady, "/s", floor,
               "build_pdf alone in one process (font parsed once)",
               f"{n} render_invoice_pdf jobs queued before the worker started; rate from its "
               f"first PDF to its last; {first - started:.1f}s from start to the first"),
        Figure(SECTION, "invoice PDFs, worker start included", n / (last - started), "/s",
               floor, "build_pdf alone in one process (font parsed once)"),
    ]
