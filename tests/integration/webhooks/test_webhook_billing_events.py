"""The billing use cases write their events: a first payment gives order.paid,
invoice.issued and subscription.activated (and a new MRR movement); dunning gives
subscription.past_due then subscription.expired (and a delinquent churn); a declined
attempt gives payment.failed. Each names the objects it is about."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import Event, Invoice, MrrMovement, Subscription
from services.core.ports import RecordingJobs
from services.core.usecases import lifecycle
from services.core.usecases.payment_processing import complete_payment, fail_payment
from tests.support.factories import make_order, make_plan, make_subscription, make_user


def _events(session: Session) -> list[tuple[str, dict]]:
    return [(e.type, e.data) for e in session.scalars(
        select(Event).order_by(Event.occurred_at, Event.created_at))]


def test_payment_then_dunning_write_their_events_and_mrr(
        session: Session, settings: Settings, clock: FixedClock) -> None:
    customer = make_user(session)
    plan = make_plan(session, price=990, grace_days=3)
    sub = make_subscription(session, customer, plan, status="pending")
    order = make_order(session, sub)
    session.commit()

    fail_payment(session, clock, RecordingJobs(), order_id=order.id, reason="card declined",
                 source="test")
    session.commit()
    complete_payment(session, clock, RecordingJobs(), order_id=order.id, trade_no="T1",
                     paid_at=clock.now(), amount=Decimal(990), payment_type="Credit_CreditCard",
                     raw={}, source="test", settings=settings)
    session.commit()
    invoice = session.scalars(select(Invoice)).one()
    got = _events(session)
    assert [t for t, _ in got] == ["payment.failed", "subscription.activated",
                                   "invoice.issued", "order.paid"]
    assert got[0][1]["order_id"] == str(order.id)
    assert got[1][1] == {**got[1][1], "subscription_id": str(sub.id), "status": "active",
                         "previous_status": "pending", "customer_id": str(customer.id)}
    assert got[2][1]["invoice_id"] == str(invoice.id)
    assert got[3][1] == {**got[3][1], "order_id": str(order.id), "invoice_id": str(invoice.id),
                         "subscription_id": str(sub.id), "amount": "990"}

    end = session.get_one(Subscription, sub.id).end_date
    assert end is not None
    clock.set(end + timedelta(minutes=5))
    lifecycle.run_dunning(session, clock, RecordingJobs(), "https://app.example.tw")
    session.commit()
    clock.set(end + timedelta(days=3, minutes=5))
    lifecycle.run_dunning(session, clock, RecordingJobs(), "https://app.example.tw")
    session.commit()
    assert [t for t, _ in _events(session)][-2:] == ["subscription.past_due",
                                                     "subscription.expired"]
    moves = [(m.kind, m.reason, m.amount_twd) for m in session.scalars(
        select(MrrMovement).order_by(MrrMovement.occurred_at))]
    assert moves == [("new", "", Decimal("942.86")),
                     ("churn", "delinquent", Decimal("-942.86"))]
