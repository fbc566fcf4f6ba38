"""`fluxus audit books`: each kind of inconsistency is reported with its ids; clean books pass."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import (
    CardAgreement,
    EInvoice,
    Invoice,
    Order,
    PaymentAttempt,
    PaymentNotification,
    PeriodCharge,
    Plan,
    Subscription,
)
from services.core.domain.money import split_tax_included
from services.core.ports import RecordingJobs
from services.core.usecases.audit import Actor
from services.core.usecases.books import Check, audit_books, parse_ids
from services.core.usecases.payment_processing import complete_payment
from services.core.usecases.payments.review_queue import resolve
from services.core.usecases.payments.reviews import ReviewReason, park
from tests.reliability.harness import FLUXUS, closed_port, fluxus_env
from tests.support.factories import make_order, make_plan, make_subscription, make_user

pytestmark = pytest.mark.integration

NOW = datetime(2027, 3, 10, 4, 0, tzinfo=UTC)
_numbers = iter(range(1, 10_000))


def _attempt(session: Session, order: Order, status: str = "paid") -> PaymentAttempt:
    """The checkout that paid `order` (or the one the payment code already recorded)."""
    if status == "paid":
        paid = session.scalars(
            select(PaymentAttempt).where(
                PaymentAttempt.order_id == order.id, PaymentAttempt.status == "paid"
            )
        ).first()
        if paid is not None:
            return paid
    attempt = PaymentAttempt(
        order_id=order.id,
        merchant_trade_no=f"FXT{next(_numbers):017d}",
        method="credit_card",
        status=status,
    )
    session.add(attempt)
    session.flush()
    return attempt


def _completed(session: Session, plan: Plan, **fields: Any) -> Order:
    """A completed order its checkout paid (no invoice: the caller decides)."""
    sub = make_subscription(session, make_user(session), plan)
    order = make_order(session, sub, **{"status": "completed", "paid_at": NOW, **fields})
    _attempt(session, order)
    return order


def _agreement(session: Session, plan: Plan) -> CardAgreement:
    agreement = CardAgreement(
        subscription_id=make_subscription(session, make_user(session), plan).id,
        merchant_trade_no=f"FXA{next(_numbers):017d}",
        status="active",
        period_type="M",
        frequency=1,
        exec_times=99,
        period_amount=990,
        first_charged_at=NOW - timedelta(days=60),
    )
    session.add(agreement)
    session.flush()
    return agreement


def _charge(
    session: Session,
    agreement: CardAgreement,
    *,
    outcome: str,
    order: Order | None = None,
    success: bool = True,
    gwsr: str | None = None,
) -> PeriodCharge:
    charge = PeriodCharge(
        agreement_id=agreement.id,
        gwsr=gwsr or f"{next(_numbers):011d}",
        process_date=NOW - timedelta(days=1),
        amount=Decimal(990),
        rtn_code="1" if success else "10100248",
        success=success,
        period_index=1,
        order_id=order.id if order else None,
        outcome=outcome,
    )
    session.add(charge)
    session.flush()
    return charge


def _park(session: Session, reason: ReviewReason, **fields: Any) -> Any:
    return park(
        session,
        source_key=f"test:{next(_numbers)}",
        reason=reason,
        arrived_at=NOW - timedelta(hours=5),
        detail=fields.pop("detail", "seeded"),
        **fields,
    )


def _worker_issued_einvoice(session: Session, order: Order) -> None:
    """What the worker does after the payment: the e-invoice gets its number."""
    einvoice = session.scalars(select(EInvoice).where(EInvoice.order_id == order.id)).one()
    einvoice.status, einvoice.invoice_no = "issued", f"AB{next(_numbers):08d}"
    einvoice.invoice_date = einvoice.issued_at = NOW - timedelta(days=3)
    session.flush()


def _paid(session: Session, plan: Plan, *, price: int = 990) -> tuple[Subscription, Order]:
    """A subscription paid through the real use case: completed order, invoice, active."""
    sub = make_subscription(session, make_user(session), plan)
    order = make_order(session, sub, amount=Decimal(price))
    complete_payment(
        session,
        FixedClock(NOW - timedelta(days=3)),
        RecordingJobs(),
        order_id=order.id,
        trade_no="2703071200000001",
        paid_at=NOW - timedelta(days=3),
        amount=price,
        payment_type="Credit_CreditCard",
        raw={},
        source="callback",
    )
    _worker_issued_einvoice(session, order)
    _attempt(session, order)
    session.flush()
    return sub, order


def _invoice(
    session: Session,
    order: Order,
    total: int,
    *,
    tax: int | None = None,
    net: int | None = None,
    einvoice: bool = True,
) -> Invoice:
    """A receipt for `order` and (unless `einvoice=False`) its issued uniform invoice."""
    split = split_tax_included(total)
    invoice = Invoice(
        invoice_number=f"2027-9{next(_numbers):07d}",
        order_id=order.id,
        user_id=order.user_id,
        amount=Decimal(net) if net is not None else split.amount,
        tax_amount=Decimal(tax) if tax is not None else split.tax,
        total_amount=Decimal(total),
        issued_at=NOW,
        paid_at=NOW,
    )
    session.add(invoice)
    session.flush()
    if einvoice:
        session.add(
            EInvoice(
                order_id=order.id,
                invoice_id=invoice.id,
                user_id=order.user_id,
                relate_number=order.order_number,
                status="issued",
                buyer={},
                items={"lines": []},
                sales_amount=total,
                tax_amount=int(split.tax),
                invoice_no=f"AB{next(_numbers):08d}",
                invoice_date=NOW,
                issued_at=NOW,
                created_at=NOW,
            )
        )
        session.flush()
    return invoice


def _notification(
    session: Session, *, age: timedelta, verdict: str = "accepted", processed: bool = False
) -> PaymentNotification:
    note = PaymentNotification(
        dedupe_key=f"{next(_numbers):064d}",
        kind="return",
        merchant_trade_no="FX123",
        verdict=verdict,
        raw={},
        received_at=NOW - age,
        processed_at=NOW if processed else None,
        attempts=0,
    )
    session.add(note)
    session.flush()
    return note


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FLUXUS, "audit", "books", "--now", NOW.isoformat(), *args],
        env=fluxus_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_books_of_real_payments_balance_and_the_command_says_so(
    session: Session, settings: Settings
) -> None:
    plan = make_plan(session, price=Decimal(990))
    for price in (990, 990, 1):
        _paid(session, plan, price=price)
    make_order(session, make_subscription(session, make_user(session), plan))  # still pending
    _notification(session, age=timedelta(hours=1), processed=True)
    _notification(session, age=timedelta(hours=1), verdict="bad_signature")
    _notification(session, age=timedelta(seconds=30))  # on its way through the queue
    session.commit()

    assert audit_books(session, FixedClock(NOW)).clean
    done = _cli(settings)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("books balance")
    report = json.loads(_cli(settings, "--json").stdout)
    assert (report["clean"], report["findings"]) == (True, [])


def test_a_paid_order_without_an_invoice_and_an_invoice_for_an_unpaid_order_are_reported(
    session: Session, settings: Settings
) -> None:
    plan = make_plan(session)
    _paid(session, plan)
    uninvoiced = make_order(
        session,
        make_subscription(session, make_user(session), plan),
        status="completed",
        paid_at=NOW,
    )
    refunded = make_order(
        session,
        make_subscription(session, make_user(session), plan),
        status="refunded",
        paid_at=NOW,
    )
    pending = make_order(session, make_subscription(session, make_user(session), plan))
    stray = _invoice(session, pending, 990)
    session.commit()

    report = audit_books(session, FixedClock(NOW))
    assert parse_ids(report, Check.PAID_ORDER_WITHOUT_INVOICE, "order") == {
        uninvoiced.id,
        refunded.id,
    }
    assert parse_ids(report, Check.INVOICE_FOR_UNPAID_ORDER, "invoice") == {stray.id}
    done = _cli(settings)
    assert done.returncode == 1
    assert f"paid_order_without_invoice: order={uninvoiced.id}" in done.stdout
    assert f"order_number={uninvoiced.order_number}" in done.stdout
    assert f"invoice_for_unpaid_order: invoice={stray.id}" in done.stdout
    assert "books do NOT balance" in done.stderr


def test_invoices_that_disagree_with_their_order_or_the_included_tax_are_reported(
    session: Session,
) -> None:
    plan = make_plan(session)
    orders = [_completed(session, plan, amount=Decimal(990)) for _ in range(4)]
    wrong_total = _invoice(session, orders[0], 1990)
    wrong_tax = _invoice(session, orders[1], 990, tax=50, net=940)  # adds up, tax is not 5%
    not_adding_up = _invoice(session, orders[2], 990, tax=47, net=900)
    _invoice(session, orders[3], 990)
    session.commit()

    report = audit_books(session, FixedClock(NOW))
    assert parse_ids(report, Check.INVOICE_TOTAL_MISMATCH, "invoice") == {wrong_total.id}
    assert parse_ids(report, Check.INVOICE_TAX_WRONG, "invoice") == {wrong_tax.id, not_adding_up.id}
    [detail] = [f.detail for f in report.findings if f.ids["invoice"] == str(wrong_tax.id)]
    assert "5% included tax is 47" in detail
    assert {f.check for f in report.findings} == {
        Check.INVOICE_TOTAL_MISMATCH,
        Check.INVOICE_TAX_WRONG,
    }


@pytest.mark.parametrize("total", [1, 10, 21, 31, 42, 990, 2990, 9999])
def test_the_tax_check_agrees_with_the_domain_rounding(session: Session, total: int) -> None:
    order = _completed(session, make_plan(session), amount=Decimal(total))
    _invoice(session, order, total)
    session.commit()
    assert audit_books(session, FixedClock(NOW)).clean


def test_active_subscriptions_nobody_paid_for_are_reported(session: Session) -> None:
    plan = make_plan(session)
    paid_sub, _ = _paid(session, plan)
    never_paid = make_subscription(
        session,
        make_user(session),
        plan,
        status="active",
        anchor_date=NOW,
        start_date=NOW,
        end_date=NOW + timedelta(days=30),
    )
    # Paid the first month, then moved on a month without a paid renewal.
    stretched, _ = _paid(session, plan)
    assert stretched.end_date is not None
    stretched.end_date += timedelta(days=31)
    no_period = make_subscription(session, make_user(session), plan, status="active")
    # A trial turned active at its end: the first period starts at the trial's end.
    trial_end = NOW - timedelta(days=1)
    trial, _ = _paid(session, plan)
    trial.trial_end_date = trial.anchor_date = trial.start_date = trial_end
    trial.end_date = trial_end + timedelta(days=31)
    # Paid renewal: the subscription's end moved to the renewal's end.
    renewed, first = _paid(session, plan)
    assert first.period_end is not None
    renewal = make_order(
        session,
        renewed,
        is_renewal=True,
        period_start=first.period_end,
        period_end=first.period_end + timedelta(days=30),
    )
    complete_payment(
        session,
        FixedClock(NOW),
        RecordingJobs(),
        order_id=renewal.id,
        trade_no="2703101200000002",
        paid_at=NOW,
        amount=990,
        payment_type="Credit_CreditCard",
        raw={},
        source="period",
    )
    _attempt(session, renewal)
    session.commit()
    assert paid_sub.status == renewed.status == "active"

    report = audit_books(session, FixedClock(NOW))
    assert parse_ids(report, Check.ACTIVE_WITHOUT_PAID_PERIOD, "subscription") == {
        never_paid.id,
        stretched.id,
        no_period.id,
    }
    assert {f.check for f in report.findings} == {Check.ACTIVE_WITHOUT_PAID_PERIOD}


def test_accepted_notifications_left_unprocessed_are_reported_once_stale(
    session: Session, settings: Settings
) -> None:
    stale = _notification(session, age=timedelta(minutes=6))
    _notification(session, age=timedelta(minutes=2))
    _notification(session, age=timedelta(hours=2), processed=True)
    _notification(session, age=timedelta(hours=2), verdict="amount_mismatch")
    session.commit()

    report = audit_books(session, FixedClock(NOW))
    assert parse_ids(report, Check.NOTIFICATION_UNPROCESSED, "notification") == {stale.id}
    assert len(report.findings) == 1
    tighter = audit_books(session, FixedClock(NOW), stale_after=timedelta(minutes=1))
    assert len(parse_ids(tighter, Check.NOTIFICATION_UNPROCESSED, "notification")) == 2

    done = _cli(settings, "--json", "--stale-minutes", "1")
    assert done.returncode == 1
    body = json.loads(done.stdout)
    assert body["clean"] is False
    assert body["counts"] == {"notification_never_processed": 2}
    assert {f["ids"]["notification"] for f in body["findings"]} >= {str(stale.id)}


def test_since_narrows_the_scan_and_limit_caps_the_listing(
    session: Session, settings: Settings
) -> None:
    plan = make_plan(session)
    orders = [_completed(session, plan) for _ in range(3)]
    session.commit()

    capped = _cli(settings, "--json", "--limit", "2")
    body: dict[str, Any] = json.loads(capped.stdout)
    assert len(body["findings"]) == 2 and body["truncated"] == ["paid_order_without_invoice"]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert _cli(settings, "--since", future).returncode == 0
    assert len(orders) == 3


def test_an_unreachable_database_exits_2(settings: Settings) -> None:
    dead = replace(
        settings,
        database_url=f"postgresql+psycopg2://postgres@127.0.0.1:{closed_port()}/fluxus",
        db_connect_timeout=2,
    )
    done = _cli(dead)
    assert done.returncode == 2
    assert "database is unavailable" in done.stderr


def _checks(report: Any) -> set[Check]:
    return {f.check for f in report.findings}


def test_books_with_attempts_periodic_charges_and_decided_reviews_balance(
    session: Session, settings: Settings
) -> None:
    plan = make_plan(session)
    by_checkout = _completed(session, plan)
    _invoice(session, by_checkout, 990)
    _attempt(session, by_checkout, "failed")  # an earlier checkout of the same order
    agreement = _agreement(session, plan)
    by_charge = make_order(
        session,
        make_subscription(session, make_user(session), plan),
        status="completed",
        paid_at=NOW,
        is_renewal=True,
    )
    _invoice(session, by_charge, 990)
    _charge(session, agreement, outcome="applied", order=by_charge)
    _charge(session, agreement, outcome="declined", success=False)
    parked = _charge(session, agreement, outcome="review")
    refunded = _completed(session, plan, status="refunded")
    _invoice(session, refunded, 990)
    review = _park(
        session,
        ReviewReason.PERIOD_ALREADY_PAID,
        amount=990,
        merchant_trade_no=agreement.merchant_trade_no,
        gateway_trade_no=parked.gwsr,
    )
    staff = make_user(session, is_staff=True)
    resolve(
        session,
        FixedClock(NOW),
        Actor(user_id=staff.id),
        staff,
        review,
        decision="refund_needed",
        note="refunded at ECPay",
    )
    _attempt(
        session, make_order(session, make_subscription(session, make_user(session), plan)), "open"
    )
    session.commit()

    report = audit_books(session, FixedClock(NOW))
    assert report.clean, [f.line() for f in report.findings]
    assert _cli(settings).returncode == 0


def test_every_open_review_item_is_a_finding_until_someone_decides(
    session: Session, settings: Settings
) -> None:
    plan = make_plan(session)
    order = _completed(session, plan)
    _invoice(session, order, 990)
    duplicate = _park(
        session,
        ReviewReason.DUPLICATE_PAYMENT,
        amount=990,
        merchant_trade_no=order.order_number,
        order_id=order.id,
        detail="second payment of a paid order",
    )
    unknown = _park(session, ReviewReason.MALFORMED, detail="no TradeAmt")
    session.commit()

    report = audit_books(session, FixedClock(NOW))
    assert parse_ids(report, Check.PAYMENT_REVIEW_OPEN, "review") == {duplicate, unknown}
    assert _checks(report) == {Check.PAYMENT_REVIEW_OPEN}
    [line] = [f.line() for f in report.findings if f.ids["review"] == str(duplicate)]
    assert f"order={order.id}" in line
    assert "990 TWD parked (duplicate_payment)" in line
    [malformed] = [f.detail for f in report.findings if f.ids["review"] == str(unknown)]
    assert malformed.startswith("an unknown amount parked (malformed) since ")
    # Open money is unfinished business: a narrow --since still reports it.
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    done = _cli(settings, "--since", future)
    assert done.returncode == 1
    assert f"payment_review_open: review={duplicate}" in done.stdout

    staff = make_user(session, is_staff=True)
    for review_id in (duplicate, unknown):
        resolve(
            session,
            FixedClock(NOW),
            Actor(user_id=staff.id),
            staff,
            review_id,
            decision="dismissed",
            note="checked at ECPay",
        )
    session.commit()
    assert audit_books(session, FixedClock(NOW)).clean
    assert _cli(settings).returncode == 0


def test_completed_orders_must_be_paid_exactly_once(session: Session, settings: Settings) -> None:
    plan = make_plan(session)
    agreement = _agreement(session, plan)

    def completed_order() -> Order:
        order = make_order(
            session,
            make_subscription(session, make_user(session), plan),
            status="completed",
            paid_at=NOW,
        )
        _invoice(session, order, 990)
        return order

    unpaid = completed_order()
    only_failed = completed_order()
    _attempt(session, only_failed, "failed")
    charge_in_review = completed_order()
    _charge(session, agreement, outcome="review", order=charge_in_review, gwsr="GWSR-REVIEW")
    paid_twice = completed_order()
    _attempt(session, paid_twice)
    _charge(session, agreement, outcome="applied", order=paid_twice)
    fine = completed_order()
    _attempt(session, fine)
    _attempt(
        session, make_order(session, make_subscription(session, make_user(session), plan)), "failed"
    )  # a pending order needs no payment yet
    session.commit()

    report = audit_books(session, FixedClock(NOW))
    assert parse_ids(report, Check.COMPLETED_ORDER_WITHOUT_PAYMENT, "order") == {
        unpaid.id,
        only_failed.id,
        charge_in_review.id,
    }
    assert parse_ids(report, Check.ORDER_PAID_MORE_THAN_ONCE, "order") == {paid_twice.id}
    # The charge in review has no review item holding it either.
    assert _checks(report) == {
        Check.COMPLETED_ORDER_WITHOUT_PAYMENT,
        Check.ORDER_PAID_MORE_THAN_ONCE,
        Check.PERIOD_CHARGE_UNACCOUNTED,
    }
    done = _cli(settings)
    assert done.returncode == 1
    assert f"completed_order_without_payment: order={unpaid.id}" in done.stdout
    assert f"order_paid_more_than_once: order={paid_twice.id}" in done.stdout


def test_successful_periodic_charges_must_be_applied_or_parked(session: Session) -> None:
    plan = make_plan(session)
    agreement = _agreement(session, plan)
    sub = make_subscription(session, make_user(session), plan)
    paid_order = make_order(session, sub, status="completed", paid_at=NOW, is_renewal=True)
    pending_order = make_order(session, sub, is_renewal=True, period_start=NOW)
    _invoice(session, paid_order, 990)
    _charge(session, agreement, outcome="applied", order=paid_order)
    applied_to_unpaid = _charge(session, agreement, outcome="applied", order=pending_order)
    applied_to_nothing = _charge(session, agreement, outcome="applied")
    parked = _charge(session, agreement, outcome="review")
    _park(session, ReviewReason.CHARGE_AFTER_CANCEL, gateway_trade_no=parked.gwsr, amount=990)
    lost_review = _charge(session, agreement, outcome="review")
    stuck = _charge(session, agreement, outcome="pending")
    _charge(session, agreement, outcome="declined", success=False)
    session.commit()

    report = audit_books(session, FixedClock(NOW))
    assert parse_ids(report, Check.PERIOD_CHARGE_UNACCOUNTED, "charge") == {
        applied_to_unpaid.id,
        applied_to_nothing.id,
        lost_review.id,
        stuck.id,
    }
    details = {
        f.ids["charge"]: f.detail
        for f in report.findings
        if f.check is Check.PERIOD_CHARGE_UNACCOUNTED
    }
    assert details[str(applied_to_unpaid.id)].endswith("applied, but its order is pending")
    assert details[str(lost_review.id)].endswith("marked for review, but no review item holds it")
    assert "990 TWD" in details[str(stuck.id)]
    [finding] = [f for f in report.findings if f.ids.get("charge") == str(stuck.id)]
    assert finding.ids["agreement"] == agreement.merchant_trade_no
    # --since narrows charges to recent rows.
    later = audit_books(session, FixedClock(NOW), since=datetime.now(UTC) + timedelta(hours=1))
    assert Check.PERIOD_CHARGE_UNACCOUNTED not in _checks(later)


def test_a_paid_attempt_of_an_order_that_is_not_paid_is_reported(session: Session) -> None:
    plan = make_plan(session)
    pending = make_order(session, make_subscription(session, make_user(session), plan))
    cancelled = make_order(
        session, make_subscription(session, make_user(session), plan), status="cancelled"
    )
    refunded = _completed(session, plan, status="refunded")
    _invoice(session, refunded, 990)
    stray = {_attempt(session, pending).id, _attempt(session, cancelled).id}
    session.commit()

    report = audit_books(session, FixedClock(NOW))
    assert parse_ids(report, Check.PAID_ATTEMPT_FOR_UNPAID_ORDER, "attempt") == stray
    assert _checks(report) == {Check.PAID_ATTEMPT_FOR_UNPAID_ORDER}
    [detail] = [f.detail for f in report.findings if f.ids["order"] == str(cancelled.id)]
    assert detail == "the attempt is paid but its order is cancelled"


def test_every_paid_order_needs_its_einvoice_on_time_and_for_its_total(session: Session) -> None:
    plan = make_plan(session)
    missing = _completed(session, plan)
    _invoice(session, missing, 990, einvoice=False)
    _, overdue_order = _paid(session, plan)
    overdue = session.scalars(select(EInvoice).where(EInvoice.order_id == overdue_order.id)).one()
    overdue.status, overdue.invoice_no, overdue.created_at = (
        "pending",
        None,
        NOW - timedelta(days=2, minutes=1),
    )
    refused_order = _completed(session, plan)
    _invoice(session, refused_order, 990)
    refused = session.scalars(select(EInvoice).where(EInvoice.order_id == refused_order.id)).one()
    refused.status, refused.last_error = "failed", "10000002 CustomerEmail is required"
    wrong_total = _completed(session, plan)
    _invoice(session, wrong_total, 990)
    session.scalars(
        select(EInvoice).where(EInvoice.order_id == wrong_total.id)
    ).one().sales_amount = 900
    unpaid = _completed(session, plan)
    _invoice(session, unpaid, 990)
    unpaid.status = "cancelled"
    # A pending one within the legal two days, and one that needed none, are fine.
    _, young_order = _paid(session, plan)
    young = session.scalars(select(EInvoice).where(EInvoice.order_id == young_order.id)).one()
    young.status, young.created_at = "pending", NOW - timedelta(days=1)
    free = _completed(session, plan)
    _invoice(session, free, 990)
    session.scalars(
        select(EInvoice).where(EInvoice.order_id == free.id)
    ).one().status = "not_issued"
    session.commit()

    report = audit_books(session, FixedClock(NOW))
    assert parse_ids(report, Check.PAID_ORDER_WITHOUT_EINVOICE, "order") == {missing.id}
    assert parse_ids(report, Check.EINVOICE_OVERDUE, "order") == {overdue_order.id}
    assert parse_ids(report, Check.EINVOICE_REFUSED, "order") == {refused_order.id}
    assert parse_ids(report, Check.EINVOICE_TOTAL_MISMATCH, "order") == {wrong_total.id}
    assert parse_ids(report, Check.EINVOICE_FOR_UNPAID_ORDER, "order") == {unpaid.id}
    refusal = next(f for f in report.findings if f.check == Check.EINVOICE_REFUSED)
    assert "CustomerEmail is required" in refusal.detail
