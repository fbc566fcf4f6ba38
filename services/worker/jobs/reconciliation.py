"""Job: reconcile one open order against ECPay (QueryTradeInfo / QueryCreditCardPeriodInfo)."""

from __future__ import annotations

import logging
import uuid

from services.core.clock import SystemClock
from services.core.usecases import reconciliation
from services.ecpay.client import EcpayClient
from services.ecpay.credentials import credentials_from_settings
from services.worker import context

log = logging.getLogger(__name__)


def gateway() -> EcpayClient:
    settings = context.settings()
    # ECPay checks TimeStamp against its own clock: the query is signed with the real time.
    return EcpayClient(
        credentials_from_settings(settings),
        timeout=settings.ecpay_timeout_seconds,
        clock=SystemClock(),
    )


def reconcile_order(order_id: str) -> str:
    with gateway() as client, context.unit_of_work() as (session, jobs):
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
