"""Jobs: issue one recorded e-invoice at ECPay; send every due one again (the outbox sweep)."""

from __future__ import annotations

import logging
import uuid

from services.core.usecases.einvoices import issuing, outbox
from services.worker import context

log = logging.getLogger(__name__)


def issue_einvoice(einvoice_id: str) -> str:
    """Transient failures are not raised: the row keeps its next attempt and the sweep below
    sends it again, so the back-off survives RQ's own retries running out."""
    with context.einvoice_gateway() as gateway, context.unit_of_work() as (session, jobs):
        outcome = issuing.issue(session, context.clock(), gateway, uuid.UUID(einvoice_id), jobs)
    log.info("e-invoice %s: %s", einvoice_id, outcome)
    return outcome.value


def sweep_einvoices() -> int:
    """Pending e-invoices that are due (a lost job, a worker killed mid-issue, a back-off that
    ran out) get their job again."""
    round_ = f"sweep{int(context.clock().now().timestamp()) // 60}"
    with context.unit_of_work() as (session, jobs):
        due = issuing.due(session, context.clock())
        for einvoice_id in due:
            jobs.enqueue(outbox.ISSUE_JOB, str(einvoice_id),
                         job_id=outbox.issue_job_id(einvoice_id, round_))
    return len(due)
