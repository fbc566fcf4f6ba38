"""Jobs: give a card refund back at ECPay (the saga); correct the e-invoice after a refund;
sweep the refunds whose next attempt has come."""

from __future__ import annotations

import logging
import uuid

from services.core.usecases.refunds import card, einvoice_step
from services.core.usecases.refunds.requests import RUN_JOB, run_job_id
from services.core.usecases.refunds.settle import EINVOICE_JOB, einvoice_job_id
from services.ecpay.credit_detail import CreditDetailClient
from services.worker import context

log = logging.getLogger(__name__)


def card_gateway() -> CreditDetailClient:
    """ECPay's CreditDetail API (or the simulator); signed with the real time."""
    current = context.settings()
    return CreditDetailClient(current.ecpay_gateway_url, current.ecpay_merchant_id,
                              current.ecpay_hash_key, current.ecpay_hash_iv,
                              timeout=current.ecpay_timeout_seconds,
                              credit_check_code=current.ecpay_credit_check_code)


def run_refund(refund_id: str) -> str:
    """One step of the card saga. Transient ECPay failures are kept on the row
    (next_attempt_at) and swept, not raised."""
    key = uuid.UUID(refund_id)
    with context.unit_of_work() as (session, _jobs):
        early = card.start(session, context.clock(), key)
    if early is None:
        with card_gateway() as gateway, context.unit_of_work() as (session, jobs):
            outcome = card.send(session, context.clock(), gateway, jobs, key,
                                context.settings())
    else:
        outcome = early
    log.info("refund %s: %s", refund_id, outcome)
    return outcome.value


def correct_refund_einvoice(refund_id: str) -> str:
    with context.einvoice_gateway() as gateway, context.unit_of_work() as (session, _jobs):
        outcome = einvoice_step.correct(session, context.clock(), gateway, uuid.UUID(refund_id))
    log.info("refund %s e-invoice: %s", refund_id, outcome)
    return outcome.value


def sweep_refunds() -> int:
    """Card refunds due again (retries, after the capture window, a lost job) and e-invoice
    steps due again get their job."""
    round_ = f"sweep{int(context.clock().now().timestamp()) // 60}"
    with context.unit_of_work() as (session, jobs):
        cards = card.due(session, context.clock())
        for refund_id in cards:
            jobs.enqueue(RUN_JOB, str(refund_id), job_id=run_job_id(refund_id, round_))
        steps = einvoice_step.due(session, context.clock())
        for refund_id in steps:
            jobs.enqueue(EINVOICE_JOB, str(refund_id), job_id=einvoice_job_id(refund_id, round_))
    return len(cards) + len(steps)
