"""The customer's side of paying: the signed ECPay checkout form, and the invoice once paid."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import Invoice, Order, Plan, Subscription, User
from services.core.domain.periods import BillingCycle
from services.core.domain.plan_text import localized, name_with_cycle
from services.core.domain.states import OrderStatus, SubscriptionStatus
from services.core.errors import Conflict, NotFound
from services.core.usecases.payments import attempts
from services.ecpay.checkout import (
    EXEC_TIMES_LIMITS,
    CheckoutForm,
    CheckoutOrder,
    ChoosePayment,
    PeriodicPlan,
    build_checkout,
)
from services.ecpay.credentials import EcpayCredentials

METHODS = {
    "credit_card": ChoosePayment.CREDIT,
    "atm": ChoosePayment.ATM,
    "cvs": ChoosePayment.CVS,
    "barcode": ChoosePayment.BARCODE,
}
# PeriodType and Frequency per billing cycle (ECPay has no quarter: three months).
PERIOD_TERMS = {
    BillingCycle.MONTHLY: ("M", 1),
    BillingCycle.QUARTERLY: ("M", 3),
    BillingCycle.YEARLY: ("Y", 1),
}
ATM_EXPIRE_DAYS = 3
CVS_EXPIRE_MINUTES = 7 * 24 * 60
BARCODE_EXPIRE_DAYS = 7
TRADE_DESC = "Fluxus subscription"
_NOT_IN_ITEM_NAME = re.compile(r"[<>#]")  # HTML is refused; '#' separates ECPay items


@dataclass(frozen=True)
class CheckoutUrls:
    """Where ECPay posts results and sends the customer back (all on the payment service)."""

    return_url: str
    payment_info_url: str
    period_return_url: str
    customer_return_url: str

    @classmethod
    def under(cls, public_payment_url: str) -> CheckoutUrls:
        base = public_payment_url.rstrip("/") + "/payment/ecpay"
        return cls(
            return_url=f"{base}/callback/",
            payment_info_url=f"{base}/payment-info/",
            period_return_url=f"{base}/period/",
            customer_return_url=f"{base}/return/",
        )


def periodic_plan(cycle: BillingCycle, amount: int, period_return_url: str) -> PeriodicPlan:
    """定期定額 terms for a plan: as many charges as ECPay allows for the period type.

    The agreement outlives any realistic subscription (99 months, or 9 years); cancelling
    the subscription is what stops renewals, not running out of charges.
    """
    period_type, frequency = PERIOD_TERMS[cycle]
    exec_times = EXEC_TIMES_LIMITS[period_type].stop - 1
    return PeriodicPlan(amount, period_type, frequency, exec_times, period_return_url)


def _item_name(plan: Plan, language: str | None) -> str:
    """What ECPay's payment page and receipt call the purchase, in the customer's language."""
    name = localized(plan.name, plan.description, plan.features, plan.translations,
                     language).name
    name = _NOT_IN_ITEM_NAME.sub(" ", name).strip() or plan.slug
    return name_with_cycle(name, plan.billing_cycle, language)[:200]


def _language(session: Session, order: Order) -> str | None:
    owner = session.get(User, order.user_id)
    return owner.language if owner is not None else None


_PAYABLE = (OrderStatus.PENDING, OrderStatus.PROCESSING)


def _owned_payable_order(session: Session, user_id: uuid.UUID, order_id: uuid.UUID) -> Order:
    """The caller's open order, locked; a failed attempt or an expired code leaves it open."""
    order = session.scalars(
        select(Order).where(Order.id == order_id, Order.user_id == user_id).with_for_update()
    ).one_or_none()
    if order is None:
        raise NotFound("Order not found.")
    if order.status not in _PAYABLE:
        raise Conflict(
            f"Only an open order can be paid; this one is {order.status}.",
            code="order_not_payable",
        )
    return order


def _check_not_paid_by_agreement(order: Order, sub: Subscription) -> None:
    # While a card agreement is live ECPay charges the period itself: a link payment too
    # would take the money twice. After a declined charge (past due) the link is the way.
    if order.is_renewal and sub.period_agreement_no and sub.status != SubscriptionStatus.PAST_DUE:
        raise Conflict(
            "This period is charged to your card by your card agreement.",
            code="paid_by_agreement",
        )


def _in_trial(sub: Subscription, clock: Clock) -> bool:
    # ECPay charges an agreement at checkout and then on its own schedule from that day; one
    # signed in the trial would charge before the trial ends, and every later charge days
    # ahead of its period. A card payment in the trial is a one-off for the first period; the
    # agreement starts with the first card checkout after the trial.
    return (sub.status == SubscriptionStatus.TRIAL and sub.trial_end_date is not None
            and sub.trial_end_date > clock.now())


def create_checkout(
    session: Session,
    clock: Clock,
    *,
    user_id: uuid.UUID,
    order_id: uuid.UUID,
    credentials: EcpayCredentials,
    urls: CheckoutUrls,
) -> CheckoutForm:
    """The form for the customer's browser to post to ECPay; another user's order is 404.

    Each call is a new payment attempt with its own MerchantTradeNo (ECPay refuses a number
    it has seen, and we cannot know whether the browser posted the last form). A card
    payment of an auto-renewing subscription without a live agreement sets one up, except
    in a trial (see _in_trial).
    """
    order = _owned_payable_order(session, user_id, order_id)
    sub = session.get_one(Subscription, order.subscription_id)
    _check_not_paid_by_agreement(order, sub)
    plan = session.get_one(Plan, order.plan_id)
    method = METHODS.get(order.payment_method, ChoosePayment.ALL)
    amount = int(order.amount)
    periodic = None
    if (method is ChoosePayment.CREDIT and sub.auto_renew and not sub.cancel_at_period_end
            and not sub.period_agreement_no and order.amount == plan.price
            and not _in_trial(sub, clock)):
        # Only a full-price order sets up an agreement: ECPay charges every period the
        # first amount, so a prorated upgrade or a credit-reduced order must not be it.
        periodic = periodic_plan(
            BillingCycle.parse(plan.billing_cycle), amount, urls.period_return_url
        )
    terms = None if periodic is None else {
        "period_type": periodic.period_type, "frequency": periodic.frequency,
        "exec_times": periodic.exec_times, "period_amount": periodic.period_amount,
    }
    attempt = attempts.start(session, clock, order, periodic=terms)
    checkout = CheckoutOrder(
        merchant_trade_no=attempt.merchant_trade_no,
        total_amount=amount,
        trade_desc=TRADE_DESC,
        item_name=_item_name(plan, _language(session, order)),
        return_url=urls.return_url,
        choose_payment=method,
        client_back_url=f"{urls.customer_return_url}?order_id={order.id}",
        order_result_url=f"{urls.customer_return_url}?order_id={order.id}",
        payment_info_url=urls.payment_info_url if method != ChoosePayment.CREDIT else "",
        atm_expire_days=ATM_EXPIRE_DAYS if method is ChoosePayment.ATM else None,
        store_expire={ChoosePayment.CVS: CVS_EXPIRE_MINUTES,
                      ChoosePayment.BARCODE: BARCODE_EXPIRE_DAYS}.get(method),
        periodic=periodic,
        # ReturnURL then carries the card authorization (gwsr, amount, …), which a card
        # refund's QueryTrade is keyed by (ECPay ?p=2894).
        need_extra_paid_info=method is ChoosePayment.CREDIT,
    )
    return build_checkout(credentials, checkout, now=clock)


def visible_order(session: Session, order_id: uuid.UUID, viewer: User) -> Order:
    """The order if `viewer` owns it or is staff; NotFound otherwise (never 403)."""
    order = session.get(Order, order_id)
    if order is None or not (viewer.is_staff or order.user_id == viewer.id):
        raise NotFound("Order not found.")
    return order


def invoice_of_order(session: Session, *, order_id: uuid.UUID, viewer: User) -> Invoice:
    """The invoice of a paid order, for its owner or staff."""
    order = visible_order(session, order_id, viewer)
    invoice = session.scalars(select(Invoice).where(Invoice.order_id == order.id)).one_or_none()
    if invoice is None:
        raise NotFound("This order has no invoice (it is not paid).", code="invoice_not_found")
    return invoice
