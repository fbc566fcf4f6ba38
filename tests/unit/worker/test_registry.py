"""The job registry: every job and periodic job points at code that exists, with a queue."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from services.worker.registry import ALL_QUEUES, JOBS, PAYMENTS, PERIODIC, job_modules
from services.worker.schedule import periodic_job_id

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[3]
CONTRACT = {
    "send_email",
    "render_invoice_pdf",
    "renew_subscriptions",
    "reconcile_order",
    "process_notification",
}


def test_contract_jobs_exist_and_point_at_modules_on_known_queues() -> None:
    assert set(JOBS) >= CONTRACT
    for spec in JOBS.values():
        module, _, _func = spec.func.rpartition(".")
        assert importlib.util.find_spec(module) is not None, spec.func
        assert spec.queue in ALL_QUEUES and spec.timeout > 0


def test_periodic_jobs_are_registered_jobs_with_valid_unique_ids() -> None:
    ids = [periodic_job_id(p.job) for p in PERIODIC]
    assert len(set(ids)) == len(ids)
    assert all(p.job in JOBS and p.every > 0 for p in PERIODIC)
    assert all(i.replace("-", "").isalnum() for i in ids)


def test_a_worker_imports_before_forking_only_the_jobs_of_its_own_queues() -> None:
    # A payments pod must not carry the invoice renderer (fpdf2 and its CJK font) it never runs.
    payments = job_modules([PAYMENTS])
    expected = {spec.func.rpartition(".")[0] for spec in JOBS.values() if spec.queue == PAYMENTS}
    assert set(payments) == expected
    assert "services.worker.jobs.invoices" not in payments
    assert set(job_modules(ALL_QUEUES)) == {s.func.rpartition(".")[0] for s in JOBS.values()}


def test_a_process_about_to_fork_configures_the_orm_for_its_children() -> None:
    # Each forked work horse (and gunicorn worker) would otherwise configure every mapper on
    # its first query. A fresh interpreter: this test process has long configured them.
    script = (
        "from sqlalchemy import inspect\n"
        "from services.core.db.models import Order, Subscription\n"
        "from services.core.db.session import configure_orm\n"
        "assert not inspect(Order).configured\n"
        "configure_orm()\n"
        "print(inspect(Order).configured and inspect(Subscription).configured)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=False, cwd=ROOT)
    assert done.stdout.strip() == "True", done.stderr
