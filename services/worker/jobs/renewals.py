"""Job: create the renewal order of one subscription for one period (exactly once)."""

from __future__ import annotations

import logging
import uuid

from services.core.clock import parse_instant
from services.core.usecases import renewals
from services.worker import context

log = logging.getLogger(__name__)


def renew_subscription(subscription_id: str, period_start: str) -> str:
    with context.unit_of_work() as (session, jobs):
        result = renewals.renew_subscription(
            session,
            context.clock(),
            jobs,
            subscription_id=uuid.UUID(subscription_id),
            period_start=parse_instant(period_start),
            dashboard_url=context.settings().dashboard_url,
        )
    log.info(
        "renewal of %s from %s: %s %s", subscription_id, period_start, result.outcome, result.reason
    )
    return result.outcome
