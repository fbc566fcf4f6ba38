"""Job: reconcile one open order against ECPay (QueryTradeInfo / QueryCreditCardPeriodInfo)."""

from __future__ import annotations

import logging
import uuid

from services.core.usecases import reconciliation
from services.worker import context

log = logging.getLogger(__name__)


def reconcile_order(order_id: str) -> str:
    with context.ecpay_gateway() as client, context.unit_of_work() as (session, jobs):
        result = reconciliation.reconcile_order(
            session,
            context.clock(),
            jobs,
            client,
            context.settings(),
            order_id=uuid.UUID(order_id),
        )
    log.info("reconciled order %s: %s %s", order_id, result.outcome, result.detail)
    return result.outcome
