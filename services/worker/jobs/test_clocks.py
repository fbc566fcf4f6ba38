"""Job: advance one test clock to a target time, boundary by boundary (one transaction each)."""

from __future__ import annotations

import logging
import uuid

from services.core.clock import FixedClock, parse_instant
from services.core.usecases.test_clocks import advance
from services.ecpay.sim_control import SimulatorControl
from services.worker import context

log = logging.getLogger(__name__)


def advance_test_clock(clock_id: str, target_iso: str) -> list[str]:
    """Returns the moments it stepped through. A failure leaves the clock `failed` at the last
    moment it completed (each step commits whole) and is raised for RQ's failed registry."""
    cid, target = uuid.UUID(clock_id), parse_instant(target_iso)
    settings = context.settings()
    charges = SimulatorControl(settings.ecpay_gateway_url, timeout=settings.ecpay_timeout_seconds)
    steps: list[str] = []
    try:
        with context.einvoice_gateway() as gateway:
            done = False
            while not done:
                with context.unit_of_work() as (session, _jobs):
                    at = advance.next_moment(session, cid, target, charges)
                moment = FixedClock(at)
                with context.unit_of_work() as (session, jobs):
                    advance.run_handlers(session, moment, jobs, cid, charges, settings)
                    done = advance.moved(session, cid, at, target)
                with context.unit_of_work() as (session, _jobs):
                    due = advance.due_einvoices(session, moment, cid)
                for einvoice_id in due:
                    with context.unit_of_work() as (session, jobs):
                        advance.issue_einvoice(session, moment, jobs, gateway, einvoice_id)
                steps.append(at.isoformat())
    except BaseException as exc:
        with context.unit_of_work() as (session, _jobs):
            advance.failed(session, cid, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        charges.close()
    log.info("test clock %s advanced to %s in %d steps", clock_id, target_iso, len(steps))
    return steps
