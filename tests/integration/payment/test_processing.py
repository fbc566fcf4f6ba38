"""Processing stored notifications: completion, invoice, subscription periods — exactly once."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.crypto import decrypt_json
from services.core.db.models import (
    AuditLog,
    EInvoice,
    EmailDelivery,
    Invoice,
    Order,
    PaymentReview,
    Plan,
    Subscription,
)
from services.core.db.session import session_factory
from services.core.domain.periods import BillingCycle, add_cycles
from services.core.ports import RecordingJobs
from services.core.usecases import renewals
from services.core.usecases.payment_notifications import Kind, receive_notification
from services.core.usecases.payment_processing import Outcome, process_notification
from tests.integration.payment.conftest import (
    NOW,
    STAGE,
    World,
    count,
    return_fields,
    seed,
    signed,
    totals,
)

pytestmark = pytest.mark.integration
PERIODIC = {"period_type": "M", "frequency": 1, "exec_times": 99, "period_amount": 990}


def accept(engine: Engine, form: dict[str, str], kind: Kind = Kind.RETURN) -> uuid.UUID:
    with session_factory(engine)() as session, session.begin():
        receipt = receive_notification(
            session, FixedClock(NOW), RecordingJobs(), kind=kind, form=form, credentials=STAGE,
        )
    assert receipt.verdict == "accepted", receipt
    return receipt.notification_id


def process(engine: Engine, notification_id: uuid.UUID, at: datetime = NOW) -> tuple[Outcome,
                                                                                  RecordingJobs]:
    jobs = RecordingJobs()
    with session_factory(engine)() as session, session.begin():
        result = process_notification(session, FixedClock(at), jobs, notification_id)
    return result.outcome, jobs


def subscription(session: Session, world: World) -> Subscription:
    session.expire_all()
    return session.get_one(Subscription, world.subscription_id)


def test_a_first_payment_completes_the_order_invoices_and_starts_the_period(
    engine: Engine, session: Session
) -> None:
    world = seed(engine, user_fields={"company_name": "Acme 股份有限公司", "tax_id": "12345675",
                                      "invoice_kind": "company"})
    paid_at = datetime(2027, 1, 31, 2, 30, tzinfo=UTC)  # 10:30 on Jan 31 in Taipei
    outcome, jobs = process(engine, accept(engine, return_fields(world, paid_at=paid_at)))

    assert outcome is Outcome.COMPLETED
    order = session.get_one(Order, world.order_id)
    assert (order.status, order.paid_at, order.ecpay_trade_no) == (
        "completed", paid_at, "2611261200001234")
    assert decrypt_json(order.payment_data or "")["fields"]["TradeAmt"] == "990"
    invoice = session.scalars(select(Invoice).where(Invoice.order_id == order.id)).one()
    assert (invoice.total_amount, invoice.tax_amount, invoice.amount) == (
        Decimal(990), Decimal(47), Decimal(943))
    assert (invoice.buyer_name, invoice.buyer_tax_id) == ("Acme 股份有限公司", "12345675")
    assert invoice.paid_at == paid_at
    sub = subscription(session, world)
    assert (sub.status, sub.anchor_date, sub.start_date) == ("active", paid_at, paid_at)
    # Anchor day kept: Jan 31 → Feb 28 (Taipei calendar).
    assert sub.end_date == datetime(2027, 2, 28, 2, 30, tzinfo=UTC)
    assert sub.payment_method == "credit_card"
    assert [name for name, _, _ in jobs.flushed] == []  # the edge flushes; nothing sent yet
    assert sorted(name for name, _, _ in jobs.pending) == [
        "issue_einvoice", "render_invoice_pdf", "send_email"]
    # The uniform invoice is owed from the payment's own transaction, to the company buyer.
    einvoice = session.scalars(select(EInvoice).where(EInvoice.order_id == order.id)).one()
    assert (einvoice.status, einvoice.sales_amount, einvoice.tax_amount) == ("pending", 990, 47)
    assert einvoice.relate_number == order.order_number
    assert (einvoice.buyer["customer_identifier"], einvoice.buyer["customer_name"]) == (
        "12345675", "Acme 股份有限公司")
    delivery = session.scalars(select(EmailDelivery)).one()
    assert (delivery.template, delivery.event_key) == (
        "payment_confirmation", f"payment_confirmation:{order.id}")
    actions = set(session.scalars(select(AuditLog.action)))
    assert {"payment.completed", "subscription.activated"} <= actions


def test_processing_the_same_notification_twice_changes_nothing(
    engine: Engine, session: Session, world: World
) -> None:
    note = accept(engine, return_fields(world))
    assert process(engine, note)[0] is Outcome.COMPLETED
    outcome, jobs = process(engine, note, at=NOW + timedelta(hours=1))
    assert outcome is Outcome.ALREADY_PROCESSED
    assert jobs.pending == []
    assert totals(session, world) == (1, 1, 1)


def test_ten_different_notifications_of_one_order_processed_at_once_complete_it_once(
    engine: Engine, session: Session, world: World
) -> None:
    # Distinct events (different TradeNo) for one order, each its own job, all at once.
    notes = [accept(engine, return_fields(world, trade_no=f"26112612000{i:05d}"))
             for i in range(10)]
    outcomes: list[Outcome] = []
    barrier = threading.Barrier(10)

    def run(note: uuid.UUID) -> None:
        barrier.wait()
        outcomes.append(process(engine, note)[0])

    threads = [threading.Thread(target=run, args=(n,)) for n in notes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(outcomes) == sorted([Outcome.COMPLETED] + [Outcome.ALREADY_COMPLETED] * 9)
    assert totals(session, world) == (1, 1, 1)
    assert count(session, AuditLog, AuditLog.action == "payment.completed") == 1


def test_a_renewal_extends_from_the_old_end_date_not_from_the_payment_date(
    engine: Engine, session: Session
) -> None:
    anchor = datetime(2027, 1, 31, 2, 0, tzinfo=UTC)
    old_end = add_cycles(anchor, BillingCycle.MONTHLY, 1)  # Feb 28
    new_end = add_cycles(anchor, BillingCycle.MONTHLY, 2)  # Mar 31, the anchor day back
    world = seed(
        engine,
        sub_fields={"status": "past_due", "anchor_date": anchor, "start_date": anchor,
                    "end_date": old_end},
        order_fields={"is_renewal": True, "period_start": old_end, "period_end": new_end},
    )
    late = old_end + timedelta(days=5)
    assert process(engine, accept(engine, return_fields(world, paid_at=late)))[0] is (
        Outcome.COMPLETED)

    sub = subscription(session, world)
    assert (sub.status, sub.anchor_date, sub.start_date, sub.end_date) == (
        "active", anchor, anchor, new_end)
    assert new_end == datetime(2027, 3, 31, 2, 0, tzinfo=UTC)
    assert session.scalars(select(AuditLog.action).where(
        AuditLog.action == "subscription.renewed")).one()


def test_a_renewal_order_without_a_period_still_extends_from_the_old_end(
    engine: Engine, session: Session
) -> None:
    anchor = datetime(2027, 1, 31, 2, 0, tzinfo=UTC)
    old_end = add_cycles(anchor, BillingCycle.QUARTERLY, 1)
    world = seed(
        engine, cycle="quarterly",
        sub_fields={"status": "active", "anchor_date": anchor, "start_date": anchor,
                    "end_date": old_end},
        order_fields={"is_renewal": True},
    )
    process(engine, accept(engine, return_fields(world, paid_at=old_end - timedelta(days=2))))
    sub = subscription(session, world)
    assert sub.end_date == add_cycles(anchor, BillingCycle.QUARTERLY, 2)
    order = session.get_one(Order, world.order_id)
    assert (order.period_start, order.period_end) == (old_end, sub.end_date)


def test_money_for_a_cancelled_order_is_kept_for_review_and_changes_nothing(
    engine: Engine, session: Session
) -> None:
    world = seed(engine, order_fields={"status": "cancelled"},
                 sub_fields={"status": "cancelled", "cancelled_at": NOW})
    note = accept(engine, return_fields(world))
    assert process(engine, note)[0] is Outcome.NEEDS_REVIEW
    session.expire_all()
    assert session.get_one(Order, world.order_id).status == "cancelled"
    assert totals(session, world) == (0, 0, 0)
    assert count(session, AuditLog, AuditLog.action == "payment.review_opened") == 1
    [item] = session.scalars(select(PaymentReview)).all()
    assert (item.reason, item.amount, item.order_id) == ("order_closed", Decimal(990),
                                                        world.order_id)
    assert process(engine, note)[0] is Outcome.ALREADY_PROCESSED


def _atm_info(world: World) -> dict[str, str]:
    return signed({
        "MerchantID": STAGE.merchant_id, "MerchantTradeNo": world.order_number, "StoreID": "",
        "RtnCode": "2", "RtnMsg": "Get VirtualAccount Succeeded", "TradeNo": "2611261200001234",
        "TradeAmt": str(int(world.amount)), "PaymentType": "ATM_TAISHIN",
        "TradeDate": "2026/11/26 12:00:00", "BankCode": "812", "vAccount": "9103522175887271",
        "ExpireDate": "2026/11/29", "CustomField1": "", "CustomField2": "", "CustomField3": "",
        "CustomField4": "",
    })


def test_atm_instructions_are_stored_on_the_order_and_emailed_once(
    engine: Engine, session: Session
) -> None:
    world = seed(engine, method="atm")
    note = accept(engine, _atm_info(world), Kind.PAYMENT_INFO)
    assert process(engine, note)[0] is Outcome.INSTRUCTIONS

    order = session.get_one(Order, world.order_id)
    assert order.status == "processing"
    assert order.payment_info is not None
    assert (order.payment_info["bank_code"], order.payment_info["v_account"]) == (
        "812", "9103522175887271")
    # Payable through the whole of Nov 29 in Taipei.
    assert order.expire_at == datetime(2026, 11, 29, 15, 59, 59, tzinfo=UTC)
    assert count(session, EmailDelivery, EmailDelivery.template == "payment_instructions") == 1

    # Then the customer pays at the bank: ReturnURL completes the processing order.
    process(engine, accept(engine, return_fields(world, PaymentType="ATM_TAISHIN")))
    assert totals(session, world) == (1, 1, 1)


def _period(world: World, success_times: int, *, rtn_code: str = "1", gwsr: str = "11111"
            ) -> dict[str, str]:
    return signed({
        "MerchantID": STAGE.merchant_id, "MerchantTradeNo": world.order_number, "StoreID": "",
        "RtnCode": rtn_code, "RtnMsg": "交易成功" if rtn_code == "1" else "付款失敗",
        "PeriodType": "M", "Frequency": "1", "ExecTimes": "99", "Amount": "990", "Gwsr": gwsr,
        "ProcessDate": "2027/03/03 10:00:00", "AuthCode": "777777", "FirstAuthAmount": "990",
        "TotalSuccessTimes": str(success_times), "SimulatePaid": "0", "CustomField1": "",
        "CustomField2": "", "CustomField3": "", "CustomField4": "",
    })


def test_each_periodic_charge_becomes_one_completed_renewal_for_the_next_period(
    engine: Engine, session: Session
) -> None:
    world = seed(engine, periodic=PERIODIC)
    first_paid = datetime(2027, 1, 31, 2, 0, tzinfo=UTC)
    process(engine, accept(engine, return_fields(world, paid_at=first_paid)))
    assert subscription(session, world).period_agreement_no == world.order_number

    charge = accept(engine, _period(world, 2), Kind.PERIOD)
    assert process(engine, charge)[0] is Outcome.COMPLETED
    # Another charge (another Gwsr) on the same scheduled date: kept and parked, not applied.
    again = accept(engine, _period(world, 2, gwsr="22222"), Kind.PERIOD)
    assert process(engine, again)[0] is Outcome.NEEDS_REVIEW
    [item] = session.scalars(select(PaymentReview)).all()
    assert (item.reason, item.gateway_trade_no) == ("period_already_paid", "22222")

    session.expire_all()
    renewals = list(session.scalars(select(Order).where(Order.is_renewal.is_(True))))
    assert len(renewals) == 1
    renewal = renewals[0]
    assert (renewal.status, renewal.amount) == ("completed", Decimal(990))
    assert (renewal.period_start, renewal.period_end) == (
        datetime(2027, 2, 28, 2, 0, tzinfo=UTC), datetime(2027, 3, 31, 2, 0, tzinfo=UTC))
    assert count(session, Invoice, Invoice.order_id == renewal.id) == 1
    assert count(session, EmailDelivery,
                 EmailDelivery.event_key == f"payment_confirmation:{renewal.id}") == 1
    assert subscription(session, world).end_date == renewal.period_end


def test_a_declined_periodic_charge_puts_the_subscription_past_due(
    engine: Engine, session: Session
) -> None:
    world = seed(engine, periodic=PERIODIC)
    process(engine, accept(engine, return_fields(world)))
    outcome, _ = process(engine, accept(engine, _period(world, 1, rtn_code="10100058"),
                                        Kind.PERIOD))
    assert outcome is Outcome.RENEWAL_FAILED
    assert subscription(session, world).status == "past_due"
    assert count(session, Order, Order.is_renewal.is_(True)) == 0
    assert count(session, EmailDelivery, EmailDelivery.template == "payment_failed") == 1


def test_a_periodic_charge_after_a_price_change_invoices_what_the_card_paid(
    engine: Engine, session: Session
) -> None:
    world = seed(engine, periodic=PERIODIC)
    first_paid = datetime(2027, 1, 31, 2, 0, tzinfo=UTC)
    process(engine, accept(engine, return_fields(world, paid_at=first_paid)))
    # The plan is repriced; the renewer makes the next period's order at the new price.
    with session_factory(engine)() as db, db.begin():
        db.get_one(Plan, world.plan_id).price = Decimal(1290)
        sub = db.get_one(Subscription, world.subscription_id)
        assert sub.end_date is not None
        counts = renewals.renew_due(db, FixedClock(sub.end_date - timedelta(days=1)),
                                    RecordingJobs(), [renewals.DueRenewal(sub.id, sub.end_date)],
                                    dashboard_url="https://app.example.tw")
    assert counts.created == 1
    [renewal] = session.scalars(select(Order).where(Order.is_renewal.is_(True))).all()
    assert (renewal.status, renewal.amount) == ("pending", Decimal(1290))

    # ECPay charges the agreement's 990, not the new price.
    assert process(engine, accept(engine, _period(world, 2), Kind.PERIOD))[0] is Outcome.COMPLETED

    session.expire_all()
    renewal = session.get_one(Order, renewal.id)
    assert (renewal.status, renewal.amount) == ("completed", Decimal(990))
    invoice = session.scalars(select(Invoice).where(Invoice.order_id == renewal.id)).one()
    assert invoice.total_amount == Decimal(990)
    assert count(session, PaymentReview) == 0
    assert subscription(session, world).end_date == renewal.period_end
