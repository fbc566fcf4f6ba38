"""Subscription and order state machines as explicit transition tables."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from services.core.errors import InvalidTransition


class SubscriptionStatus(StrEnum):
    PENDING = "pending"
    TRIAL = "trial"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class OrderStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


class PeriodChargeOutcome(StrEnum):
    """What became of one periodic card charge (定期定額) ECPay reported."""

    PENDING = "pending"  # recorded, not yet decided (only inside its transaction)
    APPLIED = "applied"  # paid a renewal order
    DECLINED = "declined"  # the card was declined: no money
    REVIEW = "review"  # money that may not be applied: parked in the review queue


S = SubscriptionStatus
SUBSCRIPTION_TRANSITIONS: dict[SubscriptionStatus, frozenset[SubscriptionStatus]] = {
    S.PENDING: frozenset({S.ACTIVE, S.TRIAL, S.CANCELLED, S.EXPIRED}),
    # A trial that ends unpaid waits past due, within the plan's grace, for its first payment.
    S.TRIAL: frozenset({S.ACTIVE, S.PAST_DUE, S.CANCELLED, S.EXPIRED}),
    S.ACTIVE: frozenset({S.PAST_DUE, S.CANCELLED, S.EXPIRED}),
    S.PAST_DUE: frozenset({S.ACTIVE, S.CANCELLED, S.EXPIRED}),
    S.CANCELLED: frozenset({S.EXPIRED}),
    S.EXPIRED: frozenset(),
}

OS = OrderStatus
ORDER_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OS.PENDING: frozenset({OS.PROCESSING, OS.COMPLETED, OS.FAILED, OS.CANCELLED}),
    OS.PROCESSING: frozenset({OS.COMPLETED, OS.FAILED, OS.CANCELLED}),
    OS.COMPLETED: frozenset({OS.REFUNDED}),
    OS.FAILED: frozenset(),
    OS.REFUNDED: frozenset(),
    OS.CANCELLED: frozenset(),
}

# Subscriptions in these states hold a customer's place on a plan.
LIVE_SUBSCRIPTION_STATES = frozenset({S.PENDING, S.TRIAL, S.ACTIVE, S.PAST_DUE})


def _check(kind: str, table: dict[Any, Any], current: str, target: str) -> None:
    enum = type(next(iter(table)))
    try:
        cur, new = enum(current), enum(target)
    except ValueError as exc:
        raise InvalidTransition(f"unknown {kind} status: {exc}") from exc
    if new not in table[cur]:
        raise InvalidTransition(
            f"a {kind} cannot go from {cur.value} to {new.value}",
            errors={"status": [f"not allowed from {cur.value}"]},
        )


def check_subscription_transition(current: str, target: str) -> None:
    _check("subscription", SUBSCRIPTION_TRANSITIONS, current, target)


def check_order_transition(current: str, target: str) -> None:
    _check("order", ORDER_TRANSITIONS, current, target)


def can_transition_subscription(current: str, target: str) -> bool:
    try:
        check_subscription_transition(current, target)
    except InvalidTransition:
        return False
    return True
