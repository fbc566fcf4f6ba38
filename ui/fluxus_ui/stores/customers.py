"""Staff back office: find a customer, read their history, act on it through the API's own
endpoints (refunds, refund confirmation, invoice resend, cancel), export invoices as CSV."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from fluxus_ui.client import ApiClient, Page
from fluxus_ui.errors import ApiError, ApiUnavailable
from fluxus_ui.models import Subscription, User, parse_money

PAGE_SIZE = 20
CANCEL_CHOICES = ("no", "at_period_end", "now")
EXPORTS = ("invoices", "customers", "orders", "refunds")


@dataclass
class History:
    """One customer's rows as the API gives them (dicts), plus a few typed views of them."""

    user: User
    credit_balance: Decimal
    subscriptions: list[Subscription]
    plan_names: dict[str, str]
    raw: dict[str, Any] = field(default_factory=dict)

    def rows(self, kind: str) -> list[dict[str, Any]]:
        value = self.raw.get(kind)
        return value if isinstance(value, list) else []

    def plan_name(self, plan_id: str) -> str:
        return self.plan_names.get(plan_id, plan_id[:8])

    def order_number(self, order_id: str) -> str:
        for entry in self.rows("orders"):
            if entry["order"]["id"] == order_id:
                return str(entry["order"]["order_number"])
        return order_id[:8]

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> History:
        return cls(User.from_json(body["user"]), parse_money(body.get("credit_balance")),
                   [Subscription.from_json(s) for s in body.get("subscriptions") or []],
                   {str(p["id"]): str(p["name"]) for p in body.get("plans") or []}, body)


def new_key() -> str:
    """An Idempotency-Key for one form: made once, sent with every try of that form."""
    return f"ui-{uuid.uuid4().hex}"


class CustomerStore:
    def __init__(self, client: ApiClient) -> None:
        self.client = client

    async def search(self, q: str, page: int = 1) -> Page[User]:
        # ApiClient's plumbing: the staff calls below are not worth a method there each.
        return await self.client._page(
            "/api/users/", User.from_json, {"q": q.strip(), "page": page,
                                            "page_size": PAGE_SIZE})

    async def history(self, user_id: str) -> History:
        _, body = await self.client._call("GET", f"/api/users/{user_id}/history/")
        return History.from_json(body)

    async def refund(self, order_id: str, *, amount: str, reason: str, cancel: str,
                     key: str) -> dict[str, Any]:
        _, body = await self.client._call(
            "POST", f"/api/orders/{order_id}/refunds/", headers={"Idempotency-Key": key},
            json={"amount": amount, "reason": reason, "cancel_subscription": cancel})
        return dict(body)

    async def confirm_refund(self, refund_id: str, reference: str) -> None:
        await self.client._call("POST", f"/api/refunds/{refund_id}/confirm/",
                                json={"reference": reference})

    async def resend(self, invoice_id: str, kind: str, key: str) -> str:
        _, body = await self.client._call(
            "POST", f"/api/invoices/{invoice_id}/resend/", json={"kind": kind},
            headers={"Idempotency-Key": key})
        return str(body["recipient"])

    async def cancel(self, subscription_id: str, *, at_period_end: bool) -> None:
        await self.client.update_subscription_status(subscription_id, "cancelled",
                                                     at_period_end=at_period_end)

    async def extend(self, subscription_id: str, *, days: int, reason: str,
                     key: str) -> dict[str, Any]:
        _, body = await self.client._call(
            "POST", f"/api/subscriptions/{subscription_id}/extend/",
            headers={"Idempotency-Key": key}, json={"days": days, "reason": reason})
        return dict(body)

    async def resend_payment(self, order_id: str, kind: str, key: str) -> str:
        _, body = await self.client._call(
            "POST", f"/api/orders/{order_id}/resend/", json={"kind": kind},
            headers={"Idempotency-Key": key})
        return str(body["recipient"])

    async def invoices_csv(self, since: date, until: date) -> bytes:
        return await self.export_csv("invoices", since, until)

    async def export_csv(self, kind: str, since: date, until: date) -> bytes:
        """One of the staff CSVs (EXPORTS) as the API streams it (BOM and all), for a
        download."""
        response = await self.client._send(
            "GET", self.client.api_url + f"/api/reports/{kind}.csv", auth=True,
            params={"from": since.isoformat(), "to": until.isoformat()})
        if response.status_code in (502, 503, 504):
            raise ApiUnavailable(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise ApiError.from_response(response.status_code, response.json())
        return response.content
