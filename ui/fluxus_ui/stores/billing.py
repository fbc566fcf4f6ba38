"""A customer's plans, subscriptions, orders and invoices, and the actions on them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import param

from fluxus_ui.client import ApiClient
from fluxus_ui.i18n import DEFAULT_LANGUAGE
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

    def __init__(self, client: ApiClient,
                 language: Callable[[], str] = lambda: DEFAULT_LANGUAGE) -> None:
        super().__init__()
        self.client = client
        # Plans are shown in the customer's language (the Plan resource's translations).
        self.language = language
        # One key per checkout attempt, so a double click never makes two orders.
        self._checkout_keys: dict[tuple[str, str, str], str] = {}

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def load_plans(self) -> list[Plan]:
        """The catalogue in the customer's language (`plans` keeps it as the API sent it)."""
        self.plans = await self.client.plans()
        return [p.in_language(self.language()) for p in self.plans]

    def _own_id(self) -> str:
        creds = self.client.credentials
        return creds.user.id if creds is not None and creds.user is not None else ""

    async def load_account(self) -> None:
        """Everything the dashboard shows (a customer's lists are short).

        Always filtered to the signed-in account: staff see everyone's data without the
        filter, and their own pages must show their own (the staff section has the rest).
        """
        own = self._own_id()
        self.subscriptions = (await self.client.subscriptions(user_id=own, page_size=100)).items
        self.orders = sorted(
            (await self.client.orders(user_id=own, page_size=100)).items,
            key=lambda o: o.created_at or datetime.min.replace(tzinfo=UTC), reverse=True,
        )
        self.invoices = sorted(
            (await self.client.invoices(user_id=own, page_size=100)).items,
            key=lambda i: i.issued_at or datetime.min.replace(tzinfo=UTC), reverse=True,
        )
        if not self.plans:
            await self.load_plans()

    def plan(self, plan_id: str) -> Plan | None:
        found = next((p for p in self.plans if p.id == plan_id), None)
        return found.in_language(self.language()) if found is not None else None

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
        self, plan: Plan, payment_method: str, invoice: InvoicePreference | None = None,
        coupon_code: str | None = None,
    ) -> tuple[Order, CheckoutForm | None]:
        """Subscribe (or reuse the pending subscription), order, and get the gateway form —
        None when the order needs no gateway (a coupon or credit covered all of it).

        `invoice` is this order's e-invoice choice; None leaves the account's.
        """
        subs = (await self.client.subscriptions(user_id=self._own_id(), page_size=100)).items
        sub = next((s for s in subs if s.plan_id == plan.id and s.status in ORDERABLE), None)
        if sub is None:
            sub = await self.client.create_subscription(plan.id, auto_renew=True)
        body = invoice.to_order_json() if invoice is not None else None
        # Another invoice choice is another request: the API would replay the first order,
        # with the first choice, under the same key.
        choice = json.dumps([body, coupon_code], sort_keys=True, ensure_ascii=False)
        key = self._checkout_keys.setdefault((sub.id, payment_method, choice), uuid.uuid4().hex)
        order = await self.client.create_order(sub.id, payment_method, idempotency_key=key,
                                               invoice=body, coupon_code=coupon_code)
        if order.status == "completed":
            return order, None
        form = await self.client.checkout_form(order.id)
        return order, form

    async def pay_order(self, order: Order) -> CheckoutForm:
        """A new payment attempt at `order` (its own MerchantTradeNo), as a gateway form."""
        return await self.client.checkout_form(order.id)

    def changeable_subscription(self) -> Subscription | None:
        """The customer's active subscription a plan change applies to (the API lists the
        newest first), if they have one that is not ending."""
        return next((s for s in self.subscriptions
                     if s.status == "active" and not s.cancel_at_period_end), None)

    def subscription(self, subscription_id: str) -> Subscription | None:
        return next((s for s in self.subscriptions if s.id == subscription_id), None)

    def open_order(self, subscription: Subscription) -> Order | None:
        """The newest order of `subscription` that still waits for money."""
        return next((o for o in self.orders if o.subscription_id == subscription.id
                     and o.status in ("pending", "processing")), None)

    def had_trial(self, plan: Plan) -> bool:
        """One free trial per customer and plan (as the API decides at subscribe)."""
        return any(s.plan_id == plan.id and s.trial_end_date is not None
                   for s in self.subscriptions)

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
