"""Every allowed and every forbidden status change, for subscriptions and orders."""

import itertools

import pytest

from services.core.domain.states import (
    ORDER_TRANSITIONS,
    SUBSCRIPTION_TRANSITIONS,
    OrderStatus,
    SubscriptionStatus,
    check_order_transition,
    check_subscription_transition,
)
from services.core.errors import InvalidTransition

pytestmark = pytest.mark.unit

S, OS = SubscriptionStatus, OrderStatus
ALLOWED_SUBSCRIPTION = {
    (S.PENDING, S.ACTIVE), (S.PENDING, S.TRIAL), (S.PENDING, S.CANCELLED), (S.PENDING, S.EXPIRED),
    (S.TRIAL, S.ACTIVE), (S.TRIAL, S.PAST_DUE), (S.TRIAL, S.CANCELLED), (S.TRIAL, S.EXPIRED),
    (S.ACTIVE, S.PAST_DUE), (S.ACTIVE, S.CANCELLED), (S.ACTIVE, S.EXPIRED),
    (S.PAST_DUE, S.ACTIVE), (S.PAST_DUE, S.CANCELLED), (S.PAST_DUE, S.EXPIRED),
    (S.CANCELLED, S.EXPIRED),
}
ALLOWED_ORDER = {
    (OS.PENDING, OS.PROCESSING), (OS.PENDING, OS.COMPLETED), (OS.PENDING, OS.FAILED),
    (OS.PENDING, OS.CANCELLED), (OS.PROCESSING, OS.COMPLETED), (OS.PROCESSING, OS.FAILED),
    (OS.PROCESSING, OS.CANCELLED), (OS.COMPLETED, OS.REFUNDED),
}


def test_the_tables_cover_every_status() -> None:
    assert set(SUBSCRIPTION_TRANSITIONS) == set(SubscriptionStatus)
    assert set(ORDER_TRANSITIONS) == set(OrderStatus)


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)))
def test_subscription_transition(current: S, target: S) -> None:
    if (current, target) in ALLOWED_SUBSCRIPTION:
        check_subscription_transition(current, target)
    else:
        with pytest.raises(InvalidTransition) as info:
            check_subscription_transition(current, target)
        assert info.value.status == 409


@pytest.mark.parametrize(("current", "target"), list(itertools.product(OS, OS)))
def test_order_transition(current: OS, target: OS) -> None:
    if (current, target) in ALLOWED_ORDER:
        check_order_transition(current, target)
    else:
        with pytest.raises(InvalidTransition):
            check_order_transition(current, target)


def test_unknown_status_is_an_invalid_transition() -> None:
    with pytest.raises(InvalidTransition, match="unknown"):
        check_subscription_transition("active", "paused")
