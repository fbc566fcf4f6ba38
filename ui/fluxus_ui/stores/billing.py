"""A customer's plans, subscriptions, orders and invoices, and the actions on them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import param

from fluxus_ui.client import ApiClient
from fluxus_ui.models import (
    CheckoutForm,
    Invoice,
    InvoicePreference,
    Order,
    Plan,
    Subscription,
    User,
)
from fluxus_ui.stores import insights

# A subscription in these states still takes its first (or overdue) payment.
ORDERABLE = ("pending", "trial", "past_due")


class BillingStore(param.Parameterized):
    plans = param.List(default=[], item_type=Plan)
    subscriptions = param.List(default=[], item_type=Subscription)
    orders = param.List(default=[], item_type=Order)
    invoices = param.List(default=[], item_type=Invoice)

    def __init__(self, client: ApiClient) -> None:
        super().__init__()
        self.client = client
        # One key per checkout attempt, so a double click never makes two orders.
        self._checkout_keys: dict[tuple[str, str, str], str] = {}

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def load_plans(self) -> list[Plan]:
        self.plans = await self.client.plans()
        return self.plans

    async def load_account(self) -> None:
        """Everything the dashboard shows (a customer's lists are short)."""
        self.subscriptions = (await self.client.subscriptions(page_size=100)).items
        self.orders = sorted(
            (await self.client.orders(page_size=100)).items,
            key=lambda o: o.created_at or datetime.min.replace(tzinfo=UTC), reverse=True,
        )
        self.invoices = sorted(
            (await self.client.invoices(page_size=100)).items,
            key=lambda i: i.issued_at or datetime.min.replace(tzinfo=UTC), reverse=True,
        )
        if not self.plans:
            await self.load_plans()

    def plan(self, plan_id: str) -> Plan | None:
        return next((p for p in self.plans if p.id == plan_id), None)

    @property
    def current(self) -> Subscription | None:
        return insights.current_subscription(self.subscriptions)

    def banners(self) -> list[insights.Banner]:
        return insights.banners(self.subscriptions, self.orders, self.now())

    def paid_this_year(self) -> Decimal:
        return insights.paid_this_year(self.orders, self.now())

    async def account(self) -> User:
        """The account as it is now (its invoice details may have changed since login)."""
        return await self.client.me()

    async def checkout(
        self, plan: Plan, payment_method: str, invoice: InvoicePreference | None = None
    ) -> tuple[Order, CheckoutForm]:
        """Subscribe (or reuse the pending subscription), order, and get the gateway form.

        `invoice` is this order's e-invoice choice; None leaves the account's.
        """
        subs = (await self.client.subscriptions(page_size=100)).items
        sub = next((s for s in subs if s.plan_id == plan.id and s.status in ORDERABLE), None)
        if sub is None:
            sub = await self.client.create_subscription(plan.id, auto_renew=True)
        body = invoice.to_order_json() if invoice is not None else None
        # Another invoice choice is another request: the API would replay the first order,
        # with the first choice, under the same key.
        choice = json.dumps(body, sort_keys=True, ensure_ascii=False)
        key = self._checkout_keys.setdefault((sub.id, payment_method, choice), uuid.uuid4().hex)
        order = await self.client.create_order(sub.id, payment_method, idempotency_key=key,
                                               invoice=body)
        form = await self.client.checkout_form(order.id)
        return order, form

    async def pay_order(self, order: Order) -> CheckoutForm:
        return await self.client.checkout_form(order.id)

    async def order(self, order_id: str) -> Order:
        return await self.client.order(order_id)

    async def invoice(self, invoice_id: str) -> Invoice:
        return await self.client.invoice(invoice_id)

    async def invoice_pdf(self, invoice: Invoice) -> bytes:
        return await self.client.invoice_pdf(invoice)

    async def set_auto_renew(self, subscription: Subscription, on: bool) -> Subscription:
        return await self.client.set_auto_renew(subscription.id, on)

    async def cancel(self, subscription: Subscription, at_period_end: bool) -> Subscription:
        return await self.client.update_subscription_status(
            subscription.id, "cancelled", at_period_end=at_period_end
        )
