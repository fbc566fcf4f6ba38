"""Staff send a payment e-mail again: the ATM code of an order still waiting for the transfer
(and it carries that code), or the confirmation of a paid order; once per Idempotency-Key,
audited, refused plainly when there is nothing to send, and never by a customer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.config import Settings
from services.core.db.models import AuditLog, EmailDelivery, Order, User
from services.core.usecases import email_templates
from services.core.usecases.email_delivery import template_values
from tests.integration.api.api_helpers import Account, assert_envelope
from tests.integration.api.test_api_refunds import paid
from tests.support.factories import make_order, make_subscription

pytestmark = pytest.mark.integration


def _waiting_for_transfer(session: Session, customer: Account, plan: Any,
                          expires: datetime) -> Order:
    sub = make_subscription(session, customer.user, plan)
    order = make_order(session, sub, payment_method="atm", status="processing",
                       expire_at=expires, payment_info={
                           "bank_code": "812", "v_account": "9103522175887271",
                           "expire_date": expires.strftime("%Y/%m/%d")})
    session.commit()
    return order


def _resend(client: FlaskClient, who: Account, order_id: Any, kind: str,
            key: str | None = None) -> Any:
    headers = who.headers | ({"Idempotency-Key": key} if key else {})
    return client.post(f"/api/orders/{order_id}/resend/", json={"kind": kind},
                       headers=headers)


def test_staff_resend_the_atm_code_once_per_key_and_it_carries_the_code(
    client: FlaskClient, session: Session, settings: Settings, customer: Account,
    staff: Account, plan: Any,
) -> None:
    order = _waiting_for_transfer(session, customer, plan,
                                  datetime.now(UTC) + timedelta(days=2))
    first = _resend(client, staff, order.id, "instructions", "pay-1")
    again = _resend(client, staff, order.id, "instructions", "pay-1")

    assert first.status_code == 202, first.get_json()
    assert first.get_json()["recipient"] == customer.user.email
    assert again.get_json()["delivery_id"] == first.get_json()["delivery_id"]
    session.expire_all()
    [delivery] = session.scalars(select(EmailDelivery)).all()
    assert delivery.template == "payment_instructions"
    user = session.get_one(User, customer.user.id)
    values = template_values(session, delivery, user, settings)
    rendered = email_templates.render(delivery.template, user.language, values)
    assert "9103522175887271" in rendered.text and order.order_number in rendered.subject
    [row] = session.scalars(select(AuditLog).where(AuditLog.action == "order_email_resend"))
    assert row.user_id == staff.user.id and row.resource_id == str(order.id)
    # A paid order has no code to send, and the open one no payment to confirm.
    assert_envelope(_resend(client, staff, order.id, "confirmation"), 409, "order_not_paid")


def test_an_expired_code_is_not_sent_and_a_paid_order_gets_its_confirmation(
    client: FlaskClient, session: Session, settings: Settings, customer: Account,
    staff: Account, plan: Any,
) -> None:
    stale = _waiting_for_transfer(session, customer, plan,
                                  datetime.now(UTC) - timedelta(hours=1))
    assert_envelope(_resend(client, staff, stale.id, "instructions"), 409,
                    "payment_code_expired")
    order_id = paid(session, settings, customer, plan)
    assert_envelope(_resend(client, staff, order_id, "instructions"), 409,
                    "no_payment_instructions")
    sent = _resend(client, staff, order_id, "confirmation")
    assert sent.status_code == 202, sent.get_json()
    session.expire_all()
    templates = session.scalars(select(EmailDelivery.template).where(
        EmailDelivery.user_id == customer.user.id)).all()
    assert sorted(templates) == ["payment_confirmation", "payment_confirmation"]

    assert_envelope(_resend(client, customer, order_id, "confirmation"), 403)
    assert_envelope(_resend(client, staff, order_id, "receipt"), 422)
    nobody = "00000000-0000-0000-0000-000000000000"
    assert_envelope(_resend(client, staff, nobody, "confirmation"), 404)
