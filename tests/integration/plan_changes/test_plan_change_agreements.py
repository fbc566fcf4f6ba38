"""Plan changes of a subscription renewed by a card agreement (定期定額): the agreement for the
old amount is cancelled (at ECPay by a job), the prorated net never becomes an agreement's
amount, and the new plan's next period is paid through checkout, which sets up a new one."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import (
    CardAgreement,
    EmailDelivery,
    Order,
    PaymentAttempt,
    Subscription,
)
from services.core.ports import RecordingJobs
from services.core.usecases import checkout, renewals
from services.core.usecases.payments.agreements import CANCEL_JOB
from services.ecpay.credentials import EcpayCredentials
from tests.integration.api.api_helpers import Account
from tests.integration.plan_changes.conftest import MID_MARCH, Plans, paid_subscription, pay

pytestmark = pytest.mark.integration
URLS = checkout.CheckoutUrls.under("https://pay.fluxus.example")


def start_checkout(session: Session, order: Order) -> PaymentAttempt:
    checkout.create_checkout(session, FixedClock(MID_MARCH), user_id=order.user_id,
                             order_id=order.id, credentials=EcpayCredentials.stage(), urls=URLS)
    session.commit()
    return session.scalars(select(PaymentAttempt).where(PaymentAttempt.order_id == order.id)
                           .order_by(PaymentAttempt.created_at.desc())).first()


def renewal_order(session: Session, sub: Subscription, plan_id: Any) -> tuple[Order, RecordingJobs]:
    start, jobs = sub.end_date, RecordingJobs()
    clock = FixedClock(start)
    dues = renewals.due_batch(session, clock, plan_id=plan_id, after=None, limit=10)
    renewals.renew_due(session, clock, jobs, dues, dashboard_url="https://app.example")
    session.commit()
    order = session.scalars(select(Order).where(Order.subscription_id == sub.id,
                                                Order.period_start == start)).one()
    return order, jobs


def agreement_of(session: Session, sub: Subscription) -> CardAgreement:
    session.expire_all()
    return session.scalars(select(CardAgreement).where(
        CardAgreement.subscription_id == sub.id)).one()


def test_an_upgrade_cancels_the_old_agreement_and_the_next_period_sets_up_a_new_one(
        client: FlaskClient, session: Session, settings: Settings, customer: Account,
        plans: Plans) -> None:
    sub = paid_subscription(session, settings, customer, plans.basic, agreement=True)
    assert agreement_of(session, sub).status == "active"
    body = client.post(f"/api/subscriptions/{sub.id}/change-plan/",
                       json={"plan_id": str(plans.pro.id)}, headers=customer.headers).get_json()
    net_order = session.get_one(Order, body["order_id"])
    # The NT$310 net is paid once by card: no agreement would charge 310 every month.
    assert start_checkout(session, net_order).periodic is None
    assert agreement_of(session, sub).status == "active"  # unpaid: still on Basic

    jobs = RecordingJobs()
    pay(session, settings, net_order.id, MID_MARCH, net_order.amount,
        trade_no="2703161000000003", jobs=jobs)
    agreement = agreement_of(session, sub)
    assert agreement.status == "cancelling"
    assert (CANCEL_JOB, (str(agreement.id),), f"cancel-agreement-{agreement.id}") in (
        jobs.pending + jobs.flushed)
    renewed = session.get_one(Subscription, sub.id)
    assert renewed.period_agreement_no is None

    april, _ = renewal_order(session, renewed, plans.pro.id)
    assert april.amount == 900
    # Paid by link (e-mailed), and that full-price card checkout sets up the new agreement.
    link = session.scalars(select(EmailDelivery).where(
        EmailDelivery.event_key == f"renewal_payment_link:{april.id}")).one()
    assert link.template == "renewal_payment_link"
    attempt = start_checkout(session, april)
    assert attempt.periodic is not None and attempt.periodic["period_amount"] == 900


def test_a_downgrade_cancels_the_agreement_now_and_bills_the_new_plan_by_link(
        client: FlaskClient, session: Session, settings: Settings, customer: Account,
        plans: Plans) -> None:
    sub = paid_subscription(session, settings, customer, plans.pro, agreement=True)
    answer = client.post(f"/api/subscriptions/{sub.id}/change-plan/",
                         json={"plan_id": str(plans.basic.id)}, headers=customer.headers)
    assert answer.get_json()["status"] == "scheduled"
    assert agreement_of(session, sub).status == "cancelling"
    session.expire_all()
    current = session.get_one(Subscription, sub.id)
    assert current.plan_id == plans.pro.id  # Pro until the period ends
    april, _ = renewal_order(session, current, plans.pro.id)
    assert (april.amount, april.plan_id) == (300, plans.basic.id)
    attempt = start_checkout(session, april)
    assert attempt.periodic is not None and attempt.periodic["period_amount"] == 300
