"""`fluxus audit books` knows discounts: a discounted order's total is its list price less the
discount and the credit used, the discount is the coupon's (so never a negative total), a
coupon is never redeemed past its limit, and the discounted periods counted match the paid
discounted orders."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import Coupon, CouponRedemption, Order
from services.core.ports import RecordingJobs
from services.core.usecases import orders, subscriptions
from services.core.usecases.audit import SYSTEM
from services.core.usecases.books import audit_books
from services.core.usecases.books_findings import Check
from tests.integration.coupons.conftest import NOW, pay
from tests.support.factories import make_plan, make_subscription, make_user

pytestmark = pytest.mark.integration
CLOCK = FixedClock(NOW)


def checks_found(session: Session) -> set[Check]:
    session.commit()
    return {finding.check for finding in audit_books(session, CLOCK).findings}


@pytest.fixture
def discounted(session: Session, settings: Settings) -> Order:
    """A paid NT$990 order with 10% off (891), its coupon limited to one redemption."""
    user, plan = make_user(session), make_plan(session, price=Decimal(990))
    session.add(Coupon(code="TEN", kind="percent", percent_off=10, duration="repeating",
                       duration_periods=2, max_redemptions=1, times_redeemed=0, plan_ids=[]))
    session.flush()
    sub = subscriptions.subscribe(session, CLOCK, SYSTEM, user, plan_id=plan.id,
                                  coupon_code="TEN")
    placed = orders.place_order(session, CLOCK, SYSTEM, user, subscription_id=sub.id,
                                payment_method="atm", client_ip=None, jobs=RecordingJobs())
    session.commit()
    pay(session, settings, placed.order.id, NOW, 891)
    return session.get_one(Order, placed.order.id)


def test_books_are_clean_after_a_discounted_payment(session: Session,
                                                     discounted: Order) -> None:
    assert (discounted.amount, discounted.discount, discounted.list_amount) == (891, 99, 990)
    assert checks_found(session) == set()


@pytest.mark.parametrize(("amount", "discount"), [
    (892, 99),  # the total is not list − discount
    (890, 100),  # adds up, but 10% of 990 is 99, not 100
    (-1, 991),  # a discount larger than the price: a negative total
])
def test_a_discount_that_does_not_add_up_is_found(session: Session, discounted: Order,
                                                  amount: int, discount: int) -> None:
    session.execute(update(Order).where(Order.id == discounted.id)
                    .values(amount=amount, discount=discount))
    assert Check.ORDER_DISCOUNT_WRONG in checks_found(session)


def test_a_coupon_redeemed_past_its_limit_is_found(session: Session,
                                                   discounted: Order) -> None:
    # A redemption written around the row lock (the counter stays within the limit).
    other = make_subscription(session, make_user(session), make_plan(session))
    session.add(CouponRedemption(coupon_id=discounted.coupon_id, subscription_id=other.id,
                                 user_id=other.user_id, periods_used=0, source="staff"))
    assert Check.COUPON_OVER_LIMIT in checks_found(session)


def test_discounted_periods_miscounted_are_found(session: Session,
                                                 discounted: Order) -> None:
    session.execute(update(CouponRedemption).values(periods_used=0))
    assert Check.REDEMPTION_PERIODS_MISCOUNTED in checks_found(session)
