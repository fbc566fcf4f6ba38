"""A test clock advanced through months bills its customer as production would: renewals
paid by the card agreement at the simulator, invoices and e-invoices, dunning on a declined
month; and production's own periodic jobs never touch a clock customer."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from services.api.app import create_app
from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import (
    CardAgreement,
    EInvoice,
    EmailDelivery,
    Invoice,
    Order,
    PeriodCharge,
    Subscription,
    TestClock,
)
from services.core.db.session import session_factory
from services.core.domain.periods import BillingCycle, add_cycles
from services.core.usecases import payment_notifications, renewals
from services.core.usecases.einvoices import issuing
from services.core.usecases.test_clocks.advance import scheduled_charge
from services.ecpay.credentials import credentials_from_settings
from services.ecpay.sim_control import SimulatorControl
from services.worker import context
from services.worker.jobs import einvoices as einvoice_jobs
from services.worker.jobs import payments as payment_jobs
from services.worker.jobs import periodic
from services.worker.jobs import renewals as renewal_jobs
from services.worker.registry import RENEWALS
from tests.integration.api.api_helpers import create_account, log_in
from tests.integration.test_clocks.conftest import (
    Customer,
    card_customer,
    decline_next_charge,
    new_plan,
)
from tests.integration.worker.conftest import run_burst


def months(at: datetime, n: int) -> datetime:
    return add_cycles(at, BillingCycle.MONTHLY, n)


def staff_client(settings: Settings, session: Session) -> tuple[FlaskClient, dict[str, str]]:
    app = create_app(settings)
    app.testing = True
    client = app.test_client()
    staff = log_in(client, create_account(session, is_staff=True))
    return client, {"Authorization": f"Bearer {staff.access}"}


def make_clock(client: FlaskClient, headers: dict[str, str], at: datetime) -> str:
    made = client.post("/api/test-clocks/", json={"name": "three months",
                                                   "frozen_time": at.isoformat()},
                       headers=headers)
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["status"] == "ready"
    clock_id: str = made.get_json()["id"]
    return clock_id


def advance(client: FlaskClient, headers: dict[str, str], settings: Settings, clock_id: str,
            to: datetime) -> dict[str, Any]:
    asked = client.post(f"/api/test-clocks/{clock_id}/advance/",
                        json={"frozen_time": to.isoformat()}, headers=headers)
    assert asked.status_code == 202, asked.get_json()
    assert asked.get_json()["status"] == "advancing"
    run_burst(settings, queues=(RENEWALS,))  # the advance job, in a real RQ worker
    shown = client.get(f"/api/test-clocks/{clock_id}/", headers=headers).get_json()
    assert shown["status"] == "ready", shown
    return dict(shown)


def renewal_rows(session: Session, sub_id: uuid.UUID) -> list[Order]:
    session.expire_all()
    return list(session.scalars(select(Order).where(Order.subscription_id == sub_id,
                                                    Order.is_renewal.is_(True))
                                .order_by(Order.period_start)))


def test_three_months_on_a_clock_renew_three_times_with_invoices_and_einvoices(
    csettings: Settings, engine: Engine, session: Session, sim: str
) -> None:
    client, headers = staff_client(csettings, session)
    plan_id = new_plan(engine)
    start = SimulatorControl(sim)
    clock_id = make_clock(client, headers, datetime.now().astimezone())
    customer = card_customer(engine, csettings, sim, plan_id, uuid.UUID(clock_id))
    start.close()

    shown = advance(client, headers, csettings, clock_id, months(customer.paid_at, 3)
                    + timedelta(days=1))

    renewals_ = renewal_rows(session, customer.subscription_id)
    assert [o.status for o in renewals_] == ["completed"] * 3
    assert [o.period_start for o in renewals_] == [months(customer.paid_at, k)
                                                   for k in (1, 2, 3)]
    invoices = session.scalars(select(Invoice).where(
        Invoice.order_id.in_([o.id for o in renewals_]))).all()
    assert sorted(int(i.total_amount) for i in invoices) == [990, 990, 990]
    einvoices = session.scalars(select(EInvoice).where(
        EInvoice.order_id.in_([o.id for o in renewals_]))).all()
    assert [e.status for e in einvoices] == ["issued"] * 3
    sub = session.get_one(Subscription, customer.subscription_id)
    assert (sub.status, sub.end_date) == ("active", months(customer.paid_at, 4))
    assert shown["frozen_time"].startswith(str((months(customer.paid_at, 3)
                                                + timedelta(days=1)).date()))
    assert shown["steps"] >= 6  # a renewal lead and a charge per month, and the target

    backwards = client.post(f"/api/test-clocks/{clock_id}/advance/",
                            json={"frozen_time": customer.paid_at.isoformat()}, headers=headers)
    assert backwards.status_code == 422


def test_a_declined_month_goes_past_due_then_expires_after_the_grace_days(
    csettings: Settings, engine: Engine, session: Session, sim: str
) -> None:
    client, headers = staff_client(csettings, session)
    clock_id = make_clock(client, headers, datetime.now().astimezone())
    customer = card_customer(engine, csettings, sim, new_plan(engine), uuid.UUID(clock_id))
    advance(client, headers, csettings, clock_id, months(customer.paid_at, 1)
            + timedelta(days=1))
    decline_next_charge(sim, customer.order_number)  # the card fails at month two

    advance(client, headers, csettings, clock_id, months(customer.paid_at, 2)
            + timedelta(days=1))

    first, second = renewal_rows(session, customer.subscription_id)
    assert (first.status, second.status) == ("completed", "pending")
    sub = session.get_one(Subscription, customer.subscription_id)
    assert sub.status == "past_due"
    declined = session.scalars(select(PeriodCharge).where(PeriodCharge.success.is_(False))).all()
    assert len(declined) == 1
    mails = session.scalars(select(EmailDelivery.template).where(
        EmailDelivery.user_id == customer.user_id)).all()
    assert "payment_failed" in mails

    advance(client, headers, csettings, clock_id, months(customer.paid_at, 2)
            + timedelta(days=8))  # past the plan's 7 grace days
    session.expire_all()
    assert session.get_one(Subscription, customer.subscription_id).status == "expired"


def production_round(settings: Settings, engine: Engine, sim: str, at: datetime,
                     twin: Customer) -> None:
    """What production does at `at`: ECPay charges the twin's agreement when due (posted to
    the payment service, here received in-process), then the worker's jobs and sweeps."""
    context.use(settings, FixedClock(at))
    control = SimulatorControl(sim)
    try:
        with session_factory(engine)() as session:
            agreement = session.scalars(select(CardAgreement).where(
                CardAgreement.merchant_trade_no == twin.order_number)).one()
            state = control.agreement(twin.order_number)
            while scheduled_charge(agreement, state.periods_run) <= at:
                control.charge_next(twin.order_number)
                state = control.agreement(twin.order_number)
        for fields in control.period_posts(twin.order_number):
            with session_factory(engine)() as session:
                receipt = payment_notifications.receive_notification(
                    session, FixedClock(at), _NoJobs(), kind=payment_notifications.Kind.PERIOD,
                    form=fields, credentials=credentials_from_settings(settings))
                session.commit()
            if receipt.notification_id is not None and not receipt.duplicate:
                payment_jobs.process_notification(str(receipt.notification_id))
        with session_factory(engine)() as session:
            plan_ids = {s.plan_id for s in session.scalars(select(Subscription))}
            dues = [d for p in plan_ids for d in renewals.due_batch(
                session, FixedClock(at), plan_id=p, after=None, limit=500)]
        if dues:
            renewal_jobs.renew_subscriptions([d.as_job_arg() for d in dues])
        periodic.end_trials()
        periodic.run_dunning()
        periodic.expire_subscriptions()
        with session_factory(engine)() as session:
            due = issuing.due(session, FixedClock(at))
        for einvoice_id in due:
            einvoice_jobs.issue_einvoice(str(einvoice_id))
    finally:
        control.close()
        context.use(settings, None)


class _NoJobs:
    def enqueue(self, job: str, *args: Any, job_id: str | None = None) -> None:
        pass

    def flush(self) -> None:
        pass


def business_rows(session: Session, customer: Customer) -> dict[str, Any]:
    """The rows a customer would notice, with times relative to their first payment."""
    session.expire_all()
    base = customer.paid_at
    orders = renewal_rows(session, customer.subscription_id)
    sub = session.get_one(Subscription, customer.subscription_id)
    return {
        "orders": [(o.period_start - base, o.period_end - base, int(o.amount), o.status)
                   for o in orders],
        "invoices": sorted((int(i.total_amount), int(i.tax_amount)) for i in session.scalars(
            select(Invoice).where(Invoice.order_id.in_([o.id for o in orders])))),
        "einvoices": sorted((e.status, e.sales_amount, e.tax_amount) for e in session.scalars(
            select(EInvoice).where(EInvoice.order_id.in_([o.id for o in orders])))),
        "subscription": (sub.status, (sub.end_date - base) if sub.end_date else None),
    }


def test_the_clock_writes_the_rows_production_writes_and_production_skips_clock_customers(
    csettings: Settings, engine: Engine, session: Session, sim: str
) -> None:
    client, headers = staff_client(csettings, session)
    plan_id = new_plan(engine)
    clock_id = make_clock(client, headers, datetime.now().astimezone())
    on_clock = card_customer(engine, csettings, sim, plan_id, uuid.UUID(clock_id))
    twin = card_customer(engine, csettings, sim, plan_id)

    # Production alone, at the twin's boundaries: the clock customer is due but untouched.
    shift = twin.paid_at - on_clock.paid_at
    moments = [months(twin.paid_at, k) + d for k in (1, 2)
               for d in (-renewals.RENEWAL_LEAD, timedelta(0))]
    for at in moments:
        production_round(csettings, engine, sim, at, twin)
    assert renewal_rows(session, on_clock.subscription_id) == []
    assert session.get_one(Subscription, on_clock.subscription_id).status == "active"

    target = months(on_clock.paid_at, 2) + timedelta(days=1)
    advance(client, headers, csettings, clock_id, target)
    production_round(csettings, engine, sim, target + shift, twin)

    clock_rows, production_rows = business_rows(session, on_clock), business_rows(session, twin)
    assert len(clock_rows["orders"]) == 2
    assert clock_rows == production_rows
    assert session.get_one(TestClock, uuid.UUID(clock_id)).steps >= 4
