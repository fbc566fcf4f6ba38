"""Staff queues: payments parked for review, e-invoices ECPay refused and RQ's failed jobs,
and their actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from fluxus_ui.client import ApiClient
from fluxus_ui.models import parse_money, parse_time

DECISIONS = ("applied", "refund_needed", "dismissed")


def _s(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value)


@dataclass(frozen=True)
class ReviewItem:
    id: str
    reason: str
    amount: Decimal | None
    currency: str
    merchant_trade_no: str
    order_number: str
    detail: str
    arrived_at: datetime | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReviewItem:
        return cls(_s(data, "id"), _s(data, "reason"),
                   parse_money(data["amount"]) if data.get("amount") is not None else None,
                   _s(data, "currency") or "TWD", _s(data, "merchant_trade_no"),
                   _s(data, "order_number"), _s(data, "detail"),
                   parse_time(data.get("arrived_at")))


@dataclass(frozen=True)
class FailedEInvoice:
    id: str
    relate_number: str
    sales_amount: int
    attempts: int
    last_error: str
    created_at: datetime | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FailedEInvoice:
        return cls(_s(data, "id"), _s(data, "relate_number"), int(data.get("sales_amount") or 0),
                   int(data.get("attempts") or 0), _s(data, "last_error"),
                   parse_time(data.get("created_at")))


@dataclass(frozen=True)
class FailedJob:
    id: str
    queue: str
    job: str
    failed_at: datetime | None
    error: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FailedJob:
        return cls(_s(data, "id"), _s(data, "queue"), _s(data, "job"),
                   parse_time(data.get("failed_at")), _s(data, "error"))


class BackofficeStore:
    def __init__(self, client: ApiClient) -> None:
        self.client = client

    async def open_reviews(self, page: int = 1) -> tuple[list[ReviewItem], int]:
        """Page `page` of the open reviews and how many there are in all."""
        found = await self.client.staff_queue("payment-reviews", status="open", page=page)
        return [ReviewItem.from_json(item) for item in found.items], found.total

    async def resolve(self, item: ReviewItem, decision: str, note: str) -> bool:
        await self.client.staff_action(f"payment-reviews/{item.id}/resolve",
                                       {"decision": decision, "note": note})
        return True

    async def failed_einvoices(self, page: int = 1) -> tuple[list[FailedEInvoice], int]:
        """Page `page` of the e-invoices ECPay refused and how many there are in all."""
        found = await self.client.staff_queue("einvoices", status="failed", page=page)
        return [FailedEInvoice.from_json(item) for item in found.items], found.total

    async def failed_jobs(self) -> tuple[list[FailedJob], int]:
        """The newest failed jobs (a page of 100) and how many there are in all."""
        page = await self.client.staff_queue("jobs/failed")
        return [FailedJob.from_json(item) for item in page.items], page.total

    async def requeue(self, job: FailedJob) -> bool:
        await self.client.staff_action(f"jobs/failed/{job.id}/requeue")
        return True

    async def retry(self, einvoice: FailedEInvoice) -> bool:
        await self.client.staff_action(f"einvoices/{einvoice.id}/retry")
        return True
