"""Job: create the renewal orders of one batch of due subscriptions (each exactly once)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from services.core import metrics
from services.core.usecases import renewals
from services.worker import context

log = logging.getLogger(__name__)


def renew_subscriptions(dues: Sequence[Sequence[str]]) -> dict[str, int]:
    """`dues` are (subscription id, period start ISO-8601) pairs, as `fluxus renew` found them."""
    batch = [renewals.DueRenewal.from_job_arg(due) for due in dues]
    with context.unit_of_work() as (session, jobs):
        counts = renewals.renew_due(
            session, context.clock(), jobs, batch, dashboard_url=context.settings().dashboard_url
        )
    # After the commit: a batch that rolled back skipped nothing. The outcome counts are
    # recorded by the worker from the return value (fluxus_billing_renewals_total).
    metrics.record_renewal_skips(counts.reasons)
    log.info("renewal batch of %d: %s, skipped by reason %s", len(batch), counts.as_dict(),
             counts.reasons)
    return counts.as_dict()
