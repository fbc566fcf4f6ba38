"""A customer's refunds of one order and their credit balance, as the API tells them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from fluxus_ui.client import ApiClient
from fluxus_ui.models import parse_money, parse_time


@dataclass(frozen=True)
class Refund:
    id: str
    amount: Decimal
    status: str  # requested, sent, succeeded, failed (card); owed, confirmed (bank transfer)
    method: str
    created_at: datetime | None
    completed_at: datetime | None
    currency: str = "TWD"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Refund:
        return cls(id=str(data.get("id", "")), amount=parse_money(data.get("amount")),
                   status=str(data.get("status", "")), method=str(data.get("method", "")),
                   created_at=parse_time(data.get("created_at")),
                   completed_at=parse_time(data.get("completed_at")),
                   currency=str(data.get("currency") or "TWD"))

    @property
    def when(self) -> datetime | None:
        """The day the money went back, or the day it was asked for while under way."""
        return self.completed_at or self.created_at


@dataclass(frozen=True)
class OrderRefunds:
    refunds: list[Refund]
    refunded: Decimal


class RefundsStore:
    def __init__(self, client: ApiClient) -> None:
        self.client = client

    async def of_order(self, order_id: str) -> OrderRefunds:
        body = await self.client.order_refunds(order_id)
        return OrderRefunds([Refund.from_json(r) for r in body.get("results") or ()],
                            parse_money(body.get("refunded_amount")))

    async def credit_balance(self) -> Decimal:
        return parse_money((await self.client.credit_balance()).get("balance"))
