"""Accounts hold against a stolen token and against enumeration: changing the e-mail address
needs the password and tells both addresses; registration answers alike whether or not the
account exists, and the e-mail (sent through a real SMTP server) says what happened."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.api.app import create_app
from services.core.clock import SystemClock
from services.core.config import Settings
from services.core.db.models import EmailDelivery, User
from services.core.usecases.email_delivery import deliver_email
from services.worker.mailer import SmtpMailer
from tests.integration.api.api_helpers import Account, assert_envelope
from tests.support.smtp import Inbox, smtp_server

pytestmark = pytest.mark.integration


@pytest.fixture
def inbox(settings: Settings) -> Iterator[tuple[Inbox, Settings]]:
    with smtp_server() as (inbox, port):
        yield inbox, dataclasses.replace(settings, smtp_host="127.0.0.1", smtp_port=port,
                                         dashboard_url="https://app.example.tw")


def _deliver_all(session: Session, settings: Settings) -> None:
    """What the e-mail worker does with every pending delivery."""
    session.expire_all()
    pending = session.scalars(select(EmailDelivery.id).where(EmailDelivery.status == "pending"))
    for delivery_id in list(pending):
        deliver_email(session, SystemClock(), SmtpMailer(settings), settings,
                      delivery_id=delivery_id)
        session.commit()


def _register(client: FlaskClient, username: str, email: str) -> tuple[int, object]:
    response = client.post("/api/auth/register/", json={
        "username": username, "email": email, "password": "blue-Kettle-42"})
    return response.status_code, response.get_json()


def test_registration_answers_alike_and_the_mail_says_what_happened(
    inbox: tuple[Inbox, Settings], session: Session
) -> None:
    mails, settings = inbox
    client = create_app(settings).test_client()

    new = _register(client, "meimei", "mei@example.tw")
    taken_address = _register(client, "someone", "MEI@example.tw")
    taken_username = _register(client, "MeiMei", "other@example.tw")

    assert new[0] == 202
    assert taken_address == new and taken_username == new
    assert session.scalars(select(User.username)).all() == ["meimei"]
    _deliver_all(session, settings)
    to_mei = "\n".join(mails.texts_to("mei@example.tw"))
    assert "already has one" in to_mei or "已有帳號" in to_mei  # the owner learns of the try
    assert "meimei" in to_mei
    to_other = "\n".join(mails.texts_to("other@example.tw"))
    assert "使用者名稱 MeiMei 已有人使用" in to_other
    assert not mails.to("someone")


def _patch_email(client: FlaskClient, account: Account, email: str,
                 **extra: str) -> object:
    return client.patch(f"/api/users/{account.id}/", headers=account.headers,
                        json={"email": email, **extra})


def test_changing_the_email_needs_the_password_and_tells_both_addresses(
    inbox: tuple[Inbox, Settings], session: Session, customer: Account
) -> None:
    mails, settings = inbox
    client = create_app(settings).test_client()
    old = customer.user.email

    # A stolen access token alone cannot move the account to another mailbox.
    for extra in ({}, {"current_password": "not-the-password"}):
        refused = assert_envelope(_patch_email(client, customer, "thief@example.tw", **extra),
                                  422)
        assert "current_password" in refused["errors"]
    session.expire_all()
    assert session.get_one(User, customer.user.id).email == old

    changed = _patch_email(client, customer, "new@example.tw",
                           current_password=customer.password)
    assert changed.status_code == 200
    assert changed.get_json()["email"] == "new@example.tw"
    assert changed.get_json()["is_verified"] is False

    _deliver_all(session, settings)
    notice = "\n".join(mails.texts_to(old))
    assert "new@example.tw" in notice
    [verification] = mails.texts_to("new@example.tw")
    token = re.search(r"verify-email\?token=([\w-]+)", verification)
    assert token is not None
    verified = client.post("/api/auth/verify-email/", json={"token": token.group(1)})
    assert verified.status_code == 200
    session.expire_all()
    assert session.get_one(User, customer.user.id).is_verified


def test_other_profile_changes_need_no_password(client: FlaskClient,
                                                customer: Account) -> None:
    response = client.patch(f"/api/users/{customer.id}/", headers=customer.headers,
                            json={"company_name": "流光科技", "email": customer.user.email})
    assert response.status_code == 200
