"""Advancing a test clock: the production handlers, in time order, for one clock's customers.

The job (services.worker.jobs.test_clocks) repeats: find the next boundary (a renewal lead,
a period end, a grace end, a trial end, a scheduled card charge, an e-invoice retry) between
the clock's time and the target, run every handler at that moment with the clock's time as
the injected Clock — card charges at the simulator, renewals (and the scheduled plan changes
they apply), trial ends, dunning, expiry — then the e-invoice sweep, and move the clock there.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.config import Settings
from services.core.db.models import CardAgreement, EInvoice, Plan, Subscription, TestClock, User
from services.core.domain.periods import BillingCycle, add_cycles
from services.core.ports import Jobs
from services.core.usecases import lifecycle, payment_notifications, payment_processing, renewals
from services.core.usecases.einvoices import issuing, outbox
from services.core.usecases.payments.agreements import AgreementStatus
from services.core.usecases.test_clocks.clocks import Status
from services.ecpay.credentials import credentials_from_settings
from services.ecpay.einvoice import EInvoiceClient
from services.ecpay.fields import parse_taipei_datetime
from services.ecpay.sim_control import AgreementState

# Work the clock does itself, at its own time, instead of leaving it to a worker's wall clock.
INLINE_JOBS = frozenset({outbox.ISSUE_JOB, payment_notifications.PROCESS_JOB,
                         payment_notifications.DRAIN_JOB})
MAX_STEPS = 400  # two years of monthly boundaries for a few dozen customers, with room
RENEW_PAGE = 500


class AgreementCharges(Protocol):
    """ECPay's side of card agreements (services.ecpay.sim_control.SimulatorControl)."""

    def agreement(self, merchant_trade_no: str) -> AgreementState: ...

    def charge_next(self, merchant_trade_no: str) -> None: ...

    def period_posts(self, merchant_trade_no: str) -> list[dict[str, str]]: ...


class ClockJobs:
    """Forwards enqueues to the real queue, except the ones the advance runs inline."""

    def __init__(self, inner: Jobs) -> None:
        self._inner = inner

    def enqueue(self, job: str, *args: Any, job_id: str | None = None) -> None:
        if job not in INLINE_JOBS:
            self._inner.enqueue(job, *args, job_id=job_id)

    def flush(self) -> None:
        self._inner.flush()


def _clock_row(session: Session, clock_id: uuid.UUID) -> TestClock:
    return session.scalars(select(TestClock).where(TestClock.id == clock_id)
                           .with_for_update()).one()


def _subscriptions(session: Session, clock_id: uuid.UUID) -> list[tuple[Subscription, Plan]]:
    rows = session.execute(
        select(Subscription, Plan).join(Plan, Plan.id == Subscription.plan_id)
        .join(User, User.id == Subscription.user_id).where(User.test_clock_id == clock_id)
    ).all()
    return [(sub, plan) for sub, plan in rows]


def _live_agreements(session: Session, clock_id: uuid.UUID) -> list[CardAgreement]:
    return list(session.scalars(
        select(CardAgreement).join(Subscription, Subscription.id == CardAgreement.subscription_id)
        .join(User, User.id == Subscription.user_id)
        .where(User.test_clock_id == clock_id,
               CardAgreement.status == AgreementStatus.ACTIVE.value)
        .order_by(CardAgreement.created_at)
    ))


def scheduled_charge(agreement: CardAgreement, number: int) -> datetime:
    """When ECPay runs the agreement's charge `number` (0 is the checkout's): the first
    charge plus that many cycles on the Taipei calendar, as the simulator schedules them."""
    if agreement.period_type == "D":
        return agreement.first_charged_at + timedelta(days=agreement.frequency * number)
    months = agreement.frequency * (12 if agreement.period_type == "Y" else 1)
    return add_cycles(agreement.first_charged_at, BillingCycle.MONTHLY, number * months)


def _sub_moments(sub: Subscription, plan: Plan) -> Iterable[datetime | None]:
    yield sub.trial_end_date
    if sub.end_date is not None:
        yield sub.end_date - renewals.RENEWAL_LEAD
        yield sub.end_date
        yield sub.end_date + timedelta(days=plan.grace_days)


def next_moment(session: Session, clock_id: uuid.UUID, target: datetime,
                charges: AgreementCharges) -> datetime:
    """The earliest boundary after the clock's time and not after `target` (else `target`)."""
    now = _clock_row(session, clock_id).frozen_time
    moments: list[datetime | None] = []
    for sub, plan in _subscriptions(session, clock_id):
        moments.extend(_sub_moments(sub, plan))
    for agreement in _live_agreements(session, clock_id):
        state = charges.agreement(agreement.merchant_trade_no)
        if state.running and state.periods_run < state.exec_times:
            moments.append(scheduled_charge(agreement, state.periods_run))
    moments.extend(session.scalars(
        select(EInvoice.next_attempt_at).join(User, User.id == EInvoice.user_id)
        .where(User.test_clock_id == clock_id, EInvoice.status == "pending")))
    ahead = [m for m in moments if m is not None and now < m < target]
    return min(ahead, default=target)


def _charge_agreements(session: Session, clock: Clock, jobs: Jobs, clock_id: uuid.UUID,
                       charges: AgreementCharges, settings: Settings) -> None:
    """Play ECPay: run every scheduled charge due by now, then apply every charge it posted
    up to now (a charge declined at the simulator beforehand included), exactly once."""
    now = clock.now()
    credentials = credentials_from_settings(settings)
    for agreement in _live_agreements(session, clock_id):
        no = agreement.merchant_trade_no
        state = charges.agreement(no)
        while (state.running and state.periods_run < state.exec_times
               and scheduled_charge(agreement, state.periods_run) <= now):
            charges.charge_next(no)
            state = charges.agreement(no)
        for fields in charges.period_posts(no):
            if parse_taipei_datetime(fields.get("ProcessDate", "")) > now:
                continue  # declined ahead of time at the simulator: applied when it is due
            receipt = payment_notifications.receive_notification(
                session, clock, jobs, kind=payment_notifications.Kind.PERIOD, form=fields,
                credentials=credentials)
            accepted = receipt.verdict is payment_notifications.Verdict.ACCEPTED
            if receipt.notification_id is not None and accepted:
                payment_processing.process_notification(
                    session, clock, jobs, receipt.notification_id, settings)


def _renew(session: Session, clock: Clock, jobs: Jobs, clock_id: uuid.UUID,
           dashboard_url: str) -> None:
    plan_ids = sorted({sub.plan_id for sub, _ in _subscriptions(session, clock_id)})
    for plan_id in plan_ids:
        after = None
        while True:
            batch = renewals.due_batch(session, clock, plan_id=plan_id, after=after,
                                       limit=RENEW_PAGE, test_clock_id=clock_id)
            if batch:
                renewals.renew_due(session, clock, jobs, batch, dashboard_url=dashboard_url)
            if len(batch) < RENEW_PAGE:
                break
            after = batch[-1].subscription_id


def run_handlers(session: Session, clock: Clock, jobs: Jobs, clock_id: uuid.UUID,
                 charges: AgreementCharges, settings: Settings) -> None:
    """Every periodic handler once, at `clock`'s time, for the clock's customers only; in the
    order time gives them (ECPay charges on the day, then renewals, trials, dunning, expiry)."""
    jobs = ClockJobs(jobs)
    _charge_agreements(session, clock, jobs, clock_id, charges, settings)
    _renew(session, clock, jobs, clock_id, settings.dashboard_url)
    lifecycle.end_trials(session, clock, jobs, test_clock_id=clock_id)
    lifecycle.run_dunning(session, clock, jobs, settings.dashboard_url, test_clock_id=clock_id)
    lifecycle.expire_subscriptions(session, clock, jobs, test_clock_id=clock_id)


def due_einvoices(session: Session, clock: Clock, clock_id: uuid.UUID) -> list[uuid.UUID]:
    return issuing.due(session, clock, test_clock_id=clock_id)


def issue_einvoice(session: Session, clock: Clock, jobs: Jobs, gateway: EInvoiceClient,
                   einvoice_id: uuid.UUID) -> str:
    """The e-invoice sweep's work for one row, at the clock's time (as the worker's job)."""
    return issuing.issue(session, clock, gateway, einvoice_id, ClockJobs(jobs)).value


def moved(session: Session, clock_id: uuid.UUID, at: datetime, target: datetime) -> bool:
    """Record that the clock reached `at`; True when that was the target (it is ready)."""
    row = _clock_row(session, clock_id)
    row.frozen_time, row.steps = at, row.steps + 1
    if row.steps > MAX_STEPS and at < target:
        raise RuntimeError(f"more than {MAX_STEPS} boundaries in one advance")
    if at >= target:
        row.status, row.advancing_to = Status.READY.value, None
        return True
    return False


def failed(session: Session, clock_id: uuid.UUID, error: str) -> None:
    row = _clock_row(session, clock_id)
    row.status, row.last_error = Status.FAILED.value, error[:500]
