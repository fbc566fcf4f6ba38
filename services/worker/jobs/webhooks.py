"""Jobs: send one webhook delivery; re-send every due one (the outbox sweep); prune old events."""

from __future__ import annotations

import logging
import uuid

from services.core import metrics
from services.core.usecases.webhooks import delivery, events
from services.worker import context

log = logging.getLogger(__name__)


def deliver_webhook(delivery_id: str) -> str:
    """Failures are not raised: the row keeps its next attempt (the spec's schedule) and the
    sweep below sends it again; RQ's own retries only cover a crash of the job itself."""
    with context.unit_of_work() as (session, jobs):
        outcome = delivery.deliver(
            session, context.clock(), jobs, uuid.UUID(delivery_id),
            allow_private=context.settings().webhooks_allow_private,
        )
    if outcome is not delivery.Outcome.NOT_DUE:
        metrics.record_webhook_delivery(outcome.value)
    log.info("webhook delivery %s: %s", delivery_id, outcome)
    return outcome.value


def sweep_webhooks() -> int:
    """Due deliveries (new events recorded without a job, retries, a killed worker's) get
    their job again."""
    round_ = f"sweep{int(context.clock().now().timestamp()) // 30}"
    with context.unit_of_work() as (session, jobs):
        count = delivery.enqueue_due(session, context.clock(), jobs, round_)
    if count:
        log.info("webhook sweep: %d deliveries due", count)
    return count


def prune_webhook_events() -> int:
    """Events are kept 30 days, with their deliveries."""
    with context.unit_of_work() as (session, _jobs):
        count = events.prune(session, context.clock().now())
    log.info("pruned %d webhook events older than 30 days", count)
    return count
