"""The database itself refuses duplicated money: invoices, renewal orders, order numbers."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.core.db.models import Invoice
from tests.support.factories import (
    NOW,
    make_order,
    make_plan,
    make_subscription,
    make_user,
)

pytestmark = pytest.mark.integration


def _invoice(order_id, number: str, user_id) -> Invoice:  # type: ignore[no-untyped-def]
    return Invoice(
        invoice_number=number, order_id=order_id, user_id=user_id, amount=Decimal(943),
        tax_amount=Decimal(47), total_amount=Decimal(990), issued_at=NOW,
    )


@pytest.fixture
def subscription(session: Session):  # type: ignore[no-untyped-def]
    sub = make_subscription(session, make_user(session), make_plan(session))
    session.commit()
    return sub


def test_a_second_invoice_for_one_order_is_refused(session: Session, subscription) -> None:  # type: ignore[no-untyped-def]
    order = make_order(session, subscription)
    session.add(_invoice(order.id, "FX2026-000001", order.user_id))
    session.commit()
    session.add(_invoice(order.id, "FX2026-000002", order.user_id))
    with pytest.raises(IntegrityError, match="uq_invoices_order_id"):
        session.commit()


def test_a_second_renewal_order_for_one_period_is_refused(session: Session, subscription) -> None:  # type: ignore[no-untyped-def]
    start = NOW + timedelta(days=30)
    make_order(session, subscription, is_renewal=True, period_start=start)
    session.commit()
    with pytest.raises(IntegrityError, match="uq_orders_subscription_period"):
        make_order(session, subscription, is_renewal=True, period_start=start)


def test_orders_for_different_periods_coexist(session: Session, subscription) -> None:  # type: ignore[no-untyped-def]
    make_order(session, subscription, period_start=NOW)
    make_order(session, subscription, period_start=NOW + timedelta(days=30))
    make_order(session, subscription)  # first orders have no period yet
    make_order(session, subscription)
    session.commit()


def test_a_duplicate_order_number_is_refused(session: Session, subscription) -> None:  # type: ignore[no-untyped-def]
    make_order(session, subscription, order_number="FX0000000000000001")
    session.commit()
    with pytest.raises(IntegrityError, match="uq_orders_order_number"):
        make_order(session, subscription, order_number="FX0000000000000001")


def test_a_duplicate_invoice_number_is_refused(session: Session, subscription) -> None:  # type: ignore[no-untyped-def]
    first, second = make_order(session, subscription), make_order(session, subscription)
    session.add(_invoice(first.id, "FX2026-000009", first.user_id))
    session.commit()
    session.add(_invoice(second.id, "FX2026-000009", second.user_id))
    with pytest.raises(IntegrityError, match="uq_invoices_invoice_number"):
        session.commit()


def test_an_idempotency_key_is_unique_per_user(session: Session, subscription) -> None:  # type: ignore[no-untyped-def]
    make_order(session, subscription, idempotency_key="k1")
    session.commit()
    with pytest.raises(IntegrityError, match="uq_orders_user_idempotency_key"):
        make_order(session, subscription, idempotency_key="k1")


def test_timestamps_come_back_in_utc(session: Session, subscription) -> None:  # type: ignore[no-untyped-def]
    order = make_order(session, subscription, paid_at=NOW)
    session.commit()
    session.expire_all()
    assert order.paid_at == NOW
    assert order.paid_at.utcoffset() == timedelta(0)
