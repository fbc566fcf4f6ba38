"""Rows for tests, built through the real models with sensible defaults."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from services.core.db.models import Order, Plan, Subscription, User
from services.core.domain.order_numbers import new_order_number

NOW = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)


def make_user(session: Session, **fields: Any) -> User:
    tag = uuid.uuid4().hex[:8]
    values: dict[str, Any] = {
        "username": f"user{tag}", "email": f"user{tag}@example.tw", "password_hash": "x"
    }
    user = User(**{**values, **fields})
    session.add(user)
    session.flush()
    return user


def make_plan(session: Session, **fields: Any) -> Plan:
    tag = uuid.uuid4().hex[:8]
    values: dict[str, Any] = {
        "slug": f"plan-{tag}", "name": "Pro", "price": Decimal(990), "billing_cycle": "monthly",
        "features": ["API access"],
    }
    plan = Plan(**{**values, **fields})
    session.add(plan)
    session.flush()
    return plan


def make_subscription(session: Session, user: User, plan: Plan, **fields: Any) -> Subscription:
    sub = Subscription(user_id=user.id, plan_id=plan.id, **fields)
    session.add(sub)
    session.flush()
    return sub


def make_order(session: Session, sub: Subscription, **fields: Any) -> Order:
    values: dict[str, Any] = {
        "order_number": new_order_number(NOW), "user_id": sub.user_id,
        "subscription_id": sub.id, "plan_id": sub.plan_id, "amount": Decimal(990),
        "payment_method": "credit_card",
    }
    order = Order(**{**values, **fields})
    session.add(order)
    session.flush()
    return order
