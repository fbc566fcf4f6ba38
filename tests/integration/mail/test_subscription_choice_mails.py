"""A customer who cancels (now or at the period end) or turns auto-renew off or on gets an
e-mail, in their own language, that says what happens to access and money; sent through a
real SMTP server on loopback by the same delivery code the e-mail worker runs."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.api.app import create_app
from services.core.clock import SystemClock
from services.core.config import Settings
from services.core.db.models import EmailDelivery, Subscription
from services.core.usecases.email_delivery import deliver_email
from services.worker.mailer import SmtpMailer
from tests.integration.api.api_helpers import Account, create_account, log_in
from tests.support.factories import make_plan, make_subscription
from tests.support.smtp import Inbox, smtp_server

pytestmark = pytest.mark.integration


@pytest.fixture
def mail(settings: Settings) -> Iterator[tuple[Inbox, Settings]]:
    with smtp_server() as (inbox, port):
        yield inbox, dataclasses.replace(settings, smtp_host="127.0.0.1", smtp_port=port)


def _deliver_all(session: Session, settings: Settings) -> None:
    session.expire_all()
    pending = session.scalars(select(EmailDelivery.id).where(EmailDelivery.status == "pending"))
    for delivery_id in list(pending):
        deliver_email(session, SystemClock(), SmtpMailer(settings), settings,
                      delivery_id=delivery_id)
        session.commit()


def _active(session: Session, client: FlaskClient, language: str,
            ) -> tuple[Account, Subscription]:
    account = log_in(client, create_account(session, language=language))
    plan = make_plan(session, name="Pro", price=Decimal(990))
    now = datetime.now(UTC)
    sub = make_subscription(session, account.user, plan, status="active", payment_method="atm",
                            start_date=now - timedelta(days=10),
                            end_date=now + timedelta(days=20))
    session.commit()
    return account, sub


def _cancel(client: FlaskClient, account: Account, sub: Subscription, **body: object) -> None:
    response = client.patch(f"/api/subscriptions/{sub.id}/update_status/",
                            json={"status": "cancelled", **body}, headers=account.headers)
    assert response.status_code == 200, response.get_json()


def test_cancel_at_period_end_in_english_says_access_stays_and_no_refund(
    mail: tuple[Inbox, Settings], session: Session,
) -> None:
    inbox, settings = mail
    client = create_app(settings).test_client()
    account, sub = _active(session, client, "en")
    _cancel(client, account, sub, at_period_end=True)
    _deliver_all(session, settings)

    [message] = inbox.to(account.user.email)
    end = sub.end_date.astimezone(UTC).date()
    assert "Your Pro plan ends on" in str(message["Subject"])
    text = "\n".join(inbox.texts_to(account.user.email))
    assert "you keep access until" in text
    assert "nothing more is charged" in text and "there is no refund" in text
    assert "turn auto-renew back on" in text
    assert str(end.year) in text


def test_cancel_now_in_chinese_says_access_ends_and_how_to_ask_for_a_refund(
    mail: tuple[Inbox, Settings], session: Session,
) -> None:
    inbox, settings = mail
    client = create_app(settings).test_client()
    account, sub = _active(session, client, "zh-TW")
    _cancel(client, account, sub)
    _deliver_all(session, settings)

    [message] = inbox.to(account.user.email)
    assert str(message["Subject"]) == "您的 Pro 方案已取消"
    text = "\n".join(inbox.texts_to(account.user.email))
    assert "服務即日停止" in text and "不會再扣款" in text
    assert "取消本身不會退還已付款的期間" in text


def test_auto_renew_off_then_on_sends_one_mail_each_in_the_customers_language(
    mail: tuple[Inbox, Settings], session: Session,
) -> None:
    inbox, settings = mail
    client = create_app(settings).test_client()
    account, sub = _active(session, client, "en")
    path = f"/api/subscriptions/{sub.id}/"
    for value in (False, False, True):  # the repeated "off" changes nothing: no second mail
        response = client.patch(path, json={"auto_renew": value}, headers=account.headers)
        assert response.status_code == 200, response.get_json()
    _deliver_all(session, settings)

    subjects = [str(m["Subject"]) for m in inbox.to(account.user.email)]
    assert sorted(subjects) == ["Auto-renew turned off for your Pro plan",
                                "Auto-renew turned on for your Pro plan"]
    text = "\n".join(inbox.texts_to(account.user.email))
    assert "you keep access until" in text and "there is no refund" in text
    assert "it renews for NT$990" in text


def test_a_staff_refund_that_cancels_tells_the_customer_the_refund_is_coming(
    mail: tuple[Inbox, Settings], session: Session,
) -> None:
    """Cancelling through a refund (staff) says the money is on its way, not 'ask us'."""
    from tests.integration.api.test_api_refunds import paid  # the paid-order helper

    inbox, settings = mail
    client = create_app(settings).test_client()
    customer = log_in(client, create_account(session, language="zh-TW"))
    staff = log_in(client, create_account(session, is_staff=True))
    plan = make_plan(session, name="Pro", price=Decimal(990))
    session.commit()
    order_id = paid(session, settings, customer, plan)
    sub = session.scalars(select(Subscription).where(
        Subscription.user_id == customer.user.id)).one()
    sub.end_date = datetime.now(UTC) + timedelta(days=20)
    session.commit()
    response = client.post(f"/api/orders/{order_id}/refunds/", headers={
        **staff.headers, "Idempotency-Key": "refund-cancel-1"},
        json={"amount": "990", "reason": "客訴", "cancel_subscription": "now"})
    assert response.status_code == 201, response.get_json()
    _deliver_all(session, settings)

    cancelled = [m for m in inbox.to(customer.user.email) if "已取消" in str(m["Subject"])]
    assert len(cancelled) == 1
    text = cancelled[0].get_body(("plain",)).get_content()
    assert "已安排退款 NT$990" in text
