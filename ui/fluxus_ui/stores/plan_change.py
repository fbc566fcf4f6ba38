"""Changing a subscription's plan: the API's preview (what is charged or credited today, from
when, the renewal price) and the change itself, and the open change that can be withdrawn."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from fluxus_ui.client import ApiClient
from fluxus_ui.models import parse_money, parse_time


@dataclass(frozen=True)
class Quote:
    """The lines of one change, as the API computed them (whole NT$, tax included)."""

    to_plan_id: str
    policy: str  # immediate | end_of_term
    upgrade: bool
    proration_date: str  # sent back on confirm, so the change is exactly this preview
    effective_at: datetime | None
    requires_payment: bool
    credit: Decimal
    charge: Decimal
    net: Decimal
    credit_balance_used: Decimal
    amount_due: Decimal
    tax: Decimal
    remaining_days: int

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Quote:
        return cls(
            to_plan_id=str(data.get("to_plan_id", "")), policy=str(data.get("policy", "")),
            upgrade=bool(data.get("upgrade")),
            proration_date=str(data.get("proration_date", "")),
            effective_at=parse_time(data.get("effective_at")),
            requires_payment=bool(data.get("requires_payment")),
            credit=parse_money(data.get("credit")), charge=parse_money(data.get("charge")),
            net=parse_money(data.get("net")),
            credit_balance_used=parse_money(data.get("credit_balance_used")),
            amount_due=parse_money(data.get("amount_due")),
            tax=parse_money((data.get("tax") or {}).get("tax")),
            remaining_days=int(data.get("remaining_days") or 0),
        )


@dataclass(frozen=True)
class PlanChange:
    """A change made or still open: scheduled, awaiting_payment (pay `order_id`) or applied."""

    status: str
    to_plan_id: str
    effective_at: datetime | None
    order_id: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlanChange:
        return cls(status=str(data.get("status", "")), to_plan_id=str(data.get("to_plan_id", "")),
                   effective_at=parse_time(data.get("effective_at")),
                   order_id=str(data.get("order_id") or ""))


class PlanChangeStore:
    def __init__(self, client: ApiClient) -> None:
        self.client = client
        # One key per confirmed quote, so a double click never makes two changes.
        self._keys: dict[tuple[str, str, str, str], str] = {}

    async def preview(self, subscription_id: str, plan_id: str) -> Quote:
        body = {"plan_id": plan_id}
        return Quote.from_json(await self.client.change_plan(subscription_id, body, preview=True))

    async def apply(self, subscription_id: str, quote: Quote, payment_method: str) -> PlanChange:
        body = {"plan_id": quote.to_plan_id, "proration_date": quote.proration_date,
                "policy": quote.policy, "payment_method": payment_method}
        key = self._keys.setdefault(
            (subscription_id, quote.to_plan_id, quote.proration_date, payment_method),
            uuid.uuid4().hex)
        answer = await self.client.change_plan(subscription_id, body, preview=False,
                                               idempotency_key=key)
        return PlanChange.from_json(answer)

    async def open_change(self, subscription_id: str) -> PlanChange | None:
        body = await self.client.open_plan_change(subscription_id)
        return PlanChange.from_json(body) if body else None

    async def cancel(self, subscription_id: str) -> bool:
        """Withdraw the open change (True once done; errors raise)."""
        await self.client.cancel_plan_change(subscription_id)
        return True
