"""Periodic jobs (registered by `fluxus scheduler`): lifecycle sweeps, reconciliation, repair."""

from __future__ import annotations

import logging

from services.core import metrics
from services.core.usecases import auth_tokens, email_delivery, lifecycle, reconciliation
from services.worker import context
from services.worker.maintenance import recover_abandoned

log = logging.getLogger(__name__)


def expire_subscriptions() -> dict[str, int]:
    with context.unit_of_work() as (session, jobs):
        result = lifecycle.expire_subscriptions(session, context.clock(), jobs)
    log.info("expiry sweep: %s", result.changed)
    metrics.record_transitions(result.changed)
    return result.changed


def end_trials() -> dict[str, int]:
    with context.unit_of_work() as (session, jobs):
        result = lifecycle.end_trials(session, context.clock(), jobs)
    log.info("trial sweep: %s", result.changed)
    metrics.record_transitions(result.changed)
    return result.changed


def run_dunning() -> dict[str, int]:
    with context.unit_of_work() as (session, jobs):
        result = lifecycle.run_dunning(
            session, context.clock(), jobs, context.settings().dashboard_url
        )
    log.info("dunning sweep: %s", result.changed)
    metrics.record_transitions(result.changed)
    return result.changed


def reconcile_orders() -> int:
    with context.unit_of_work() as (session, jobs):
        count = reconciliation.enqueue_due(session, context.clock(), jobs)
    log.info("reconciliation: %d orders to ask ECPay about", count)
    return count


def sweep_email_deliveries() -> int:
    with context.unit_of_work() as (session, jobs):
        count = email_delivery.sweep_stuck_deliveries(session, context.clock(), jobs)
    if count:
        log.info("re-enqueued %d pending e-mails", count)
    return count


def recover_abandoned_jobs() -> list[str]:
    recovered = recover_abandoned(context.redis())
    if recovered:
        log.warning("requeued jobs abandoned by dead workers: %s", recovered)
    return recovered


def prune_expired_tokens() -> dict[str, int]:
    with context.unit_of_work() as (session, _jobs):
        pruned = auth_tokens.prune_expired_tokens(session, context.clock())
    log.info("pruned expired tokens: %s", pruned)
    return pruned
