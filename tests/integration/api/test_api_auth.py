"""Accounts over HTTP: register, log in, refresh rotation and reuse, logout, e-mail flows."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import redis
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from services.core.clock import SystemClock
from services.core.config import Settings
from services.core.db.models import AuditLog, EmailDelivery, RefreshToken, User
from services.core.usecases.email_delivery import deliver_email
from services.worker.mailer import SmtpMailer
from tests.integration.api.api_helpers import PASSWORD, Account, assert_envelope, create_account
from tests.support.smtp import smtp_server

pytestmark = pytest.mark.integration


def _register(client: FlaskClient, **overrides: Any) -> Any:
    body = {"username": "meimei", "email": "MeiMei@Example.tw", "password": "blue-Kettle-42",
            "first_name": "美美", "language": "zh-TW"}
    body.update(overrides)
    return client.post("/api/auth/register/", json=body)


def _registered_id(client: FlaskClient, session: Session) -> Any:
    assert _register(client).status_code == 202
    return session.scalars(select(User.id).where(User.username == "meimei")).one()


def _actions(session: Session, user_id: Any = None) -> list[str]:
    session.expire_all()
    query = select(AuditLog.action).order_by(AuditLog.created_at)
    if user_id is not None:
        query = query.where(AuditLog.user_id == user_id)
    return list(session.scalars(query))


def _mailed_token(session: Session, user_id: Any, template: str) -> str:
    """Send the latest `template` e-mail through a real SMTP server and read its link (the
    token is minted at sending; the database never holds it)."""
    session.expire_all()
    delivery = session.scalars(
        select(EmailDelivery).where(EmailDelivery.user_id == user_id,
                                    EmailDelivery.template == template)
        .order_by(EmailDelivery.created_at.desc())
    ).first()
    assert delivery is not None, f"no {template} e-mail"
    with smtp_server() as (inbox, port):
        settings = Settings(env="development", smtp_host="127.0.0.1", smtp_port=port)
        deliver_email(session, SystemClock(), SmtpMailer(settings), settings,
                      delivery_id=delivery.id)
        session.commit()
        [text_part] = inbox.texts_to(delivery.recipient)
    link = re.search(r"https?://\S+\?token=[\w-]+", text_part)
    assert link is not None, text_part
    return parse_qs(urlparse(link.group(0)).query)["token"][0]


def test_register_creates_an_account_mails_it_and_never_returns_the_password(
    client: FlaskClient, session: Session, settings: Settings
) -> None:
    response = _register(client)

    assert response.status_code == 202
    assert "blue-Kettle-42" not in response.get_data(as_text=True)
    user = session.scalars(select(User).where(User.username == "meimei")).one()
    assert user.email == "meimei@example.tw"
    assert user.is_verified is False and user.is_staff is False
    assert user.password_hash.startswith("$2")
    assert "register" in _actions(session, user.id)
    templates = set(session.scalars(select(EmailDelivery.template)))
    assert templates == {"welcome", "verify_email"}
    link = session.scalars(select(EmailDelivery.context)
                           .where(EmailDelivery.template == "verify_email")).one()["link"]
    # The stored copy never holds the live token (it is minted when the e-mail is sent).
    assert link == f"{settings.dashboard_url}/verify-email?token=[redacted]"
    # The e-mail jobs were sent to RQ after the commit.
    assert redis.Redis.from_url(settings.redis_url).llen("rq:queue:email") == 2


@pytest.mark.parametrize(
    ("password", "problem"),
    [("short1", "at least 8"), ("1234567890", "only digits"), ("password123", "too common"),
     ("meimei2024", "too close")],
)
def test_register_refuses_weak_passwords(client: FlaskClient, password: str,
                                         problem: str) -> None:
    body = assert_envelope(_register(client, password=password), 422, "validation_error")
    assert any(problem in text for text in body["errors"]["password"])


def test_register_creates_nothing_for_a_taken_username_or_email(
    client: FlaskClient, session: Session
) -> None:
    # The answers are alike; the e-mails say what happened
    # (tests/integration/api/test_hardening_accounts.py).
    first = _register(client)
    assert first.status_code == 202
    for taken in ({"username": "MEIMEI", "email": "x@example.tw"},
                  {"username": "other", "email": "meimei@example.tw"}):
        again = _register(client, **taken)
        assert (again.status_code, again.get_json()) == (202, first.get_json())
    assert len(session.scalars(select(User)).all()) == 1


def test_login_by_username_or_email_returns_tokens_and_the_user(
    client: FlaskClient, session: Session
) -> None:
    account = create_account(session, username="alice", email="alice@example.tw")
    for login in ("alice", "ALICE@example.tw"):
        response = client.post("/api/auth/login/", json={"username": login,
                                                         "password": PASSWORD})
        assert response.status_code == 200
        body = response.get_json()
        assert body["user"]["id"] == account.id and body["access"] and body["refresh"]
    me = client.get("/api/users/me/", headers={"Authorization": f"Bearer {body['access']}"})
    assert me.get_json()["username"] == "alice"
    assert _actions(session, account.user.id).count("login") == 2


def test_failed_logins_answer_401_and_are_audited(client: FlaskClient, session: Session) -> None:
    account = create_account(session)
    wrong = client.post("/api/auth/login/", json={"username": account.user.username,
                                                  "password": "not-my-password"})
    unknown = client.post("/api/auth/login/", json={"email": "nobody@example.tw",
                                                    "password": "whatever-1"})
    assert assert_envelope(wrong, 401, "invalid_credentials")["message"] == \
        assert_envelope(unknown, 401, "invalid_credentials")["message"]
    assert _actions(session).count("login_failed") == 2
    assert _actions(session, account.user.id) == ["login_failed"]


def test_inactive_accounts_cannot_log_in(client: FlaskClient, session: Session) -> None:
    account = create_account(session, is_active=False)
    response = client.post("/api/auth/login/", json={"username": account.user.username,
                                                     "password": PASSWORD})
    assert_envelope(response, 401, "invalid_credentials")


def test_refresh_rotates_and_a_reused_token_revokes_the_whole_family(
    client: FlaskClient, session: Session, customer: Account
) -> None:
    first = client.post("/api/auth/refresh/", json={"refresh": customer.refresh})
    assert first.status_code == 200
    pair = first.get_json()
    assert set(pair) == {"access", "refresh"} and pair["refresh"] != customer.refresh
    assert client.get("/api/users/me/",
                      headers={"Authorization": f"Bearer {pair['access']}"}).status_code == 200

    replay = client.post("/api/auth/refresh/", json={"refresh": customer.refresh})
    assert_envelope(replay, 401, "token_reused")

    # The thief's rotated token and every access token of the family are dead now.
    assert_envelope(client.post("/api/auth/refresh/", json={"refresh": pair["refresh"]}), 401)
    assert_envelope(client.get("/api/users/me/",
                               headers={"Authorization": f"Bearer {pair['access']}"}), 401,
                    "token_revoked")
    assert_envelope(client.get("/api/users/me/", headers=customer.headers), 401,
                    "token_revoked")
    assert "refresh_token_reuse" in _actions(session, customer.user.id)
    session.expire_all()
    rows = session.scalars(select(RefreshToken).where(
        RefreshToken.user_id == customer.user.id)).all()
    assert rows and all(row.revoked_at is not None for row in rows)


def test_refresh_refuses_garbage_and_access_tokens(client: FlaskClient,
                                                   customer: Account) -> None:
    assert_envelope(client.post("/api/auth/refresh/", json={"refresh": "abc.def.ghi"}), 401)
    assert_envelope(client.post("/api/auth/refresh/", json={"refresh": customer.access}), 401)


def test_logout_revokes_the_access_and_refresh_tokens(
    client: FlaskClient, session: Session, customer: Account
) -> None:
    response = client.post("/api/auth/logout/", json={"refresh": customer.refresh},
                           headers=customer.headers)
    assert response.status_code == 204
    assert_envelope(client.get("/api/users/me/", headers=customer.headers), 401,
                    "token_revoked")
    assert_envelope(client.post("/api/auth/refresh/", json={"refresh": customer.refresh}), 401)
    assert "logout" in _actions(session, customer.user.id)


def test_logout_needs_an_access_token(client: FlaskClient, customer: Account) -> None:
    assert_envelope(client.post("/api/auth/logout/", json={"refresh": customer.refresh}), 401)


def test_verify_email_with_the_mailed_token_once(client: FlaskClient, session: Session) -> None:
    user_id = _registered_id(client, session)
    token = _mailed_token(session, user_id, "verify_email")

    assert client.post("/api/auth/verify-email/", json={"token": token}).status_code == 200
    session.expire_all()
    assert session.get(User, user_id).is_verified is True  # type: ignore[union-attr]
    assert_envelope(client.post("/api/auth/verify-email/", json={"token": token}), 422,
                    "invalid_token")
    assert_envelope(client.post("/api/auth/verify-email/", json={"token": "made-up"}), 422)


def test_resend_verification_mails_a_new_link_and_hides_unknown_addresses(
    client: FlaskClient, session: Session
) -> None:
    user_id = _registered_id(client, session)
    # The first link is older than the one-minute pause between mails.
    session.execute(
        text("UPDATE email_deliveries SET created_at = created_at - interval '5 min'"))
    session.commit()
    known = client.post("/api/auth/verify-email/resend/", json={"email": "meimei@example.tw"})
    unknown = client.post("/api/auth/verify-email/resend/", json={"email": "no@example.tw"})
    assert known.status_code == unknown.status_code == 202
    assert known.get_json() == unknown.get_json()
    session.expire_all()
    links = session.scalars(select(EmailDelivery).where(
        EmailDelivery.user_id == user_id, EmailDelivery.template == "verify_email")).all()
    assert len(links) == 2
    # Within the pause, asking again mails nothing more.
    client.post("/api/auth/verify-email/resend/", json={"email": "meimei@example.tw"})
    session.expire_all()
    assert len(session.scalars(select(EmailDelivery).where(
        EmailDelivery.user_id == user_id, EmailDelivery.template == "verify_email")).all()) == 2


def test_password_reset_answers_202_for_any_address_and_resets_once(
    client: FlaskClient, session: Session, customer: Account
) -> None:
    known = client.post("/api/auth/password-reset/", json={"email": customer.user.email})
    unknown = client.post("/api/auth/password-reset/", json={"email": "ghost@example.tw"})
    assert known.status_code == unknown.status_code == 202
    assert known.get_json() == unknown.get_json()
    token = _mailed_token(session, customer.user.id, "password_reset")

    weak = client.post("/api/auth/password-reset/confirm/",
                       json={"token": token, "password": "12345678"})
    assert_envelope(weak, 422)
    ok = client.post("/api/auth/password-reset/confirm/",
                     json={"token": token, "password": "new-Sunrise-77"})
    assert ok.status_code == 200
    again = client.post("/api/auth/password-reset/confirm/",
                        json={"token": token, "password": "other-Sunrise-78"})
    assert_envelope(again, 422, "invalid_token")

    login = client.post("/api/auth/login/", json={"username": customer.user.username,
                                                  "password": "new-Sunrise-77"})
    assert login.status_code == 200
    # Old logins are revoked by the reset.
    assert_envelope(client.post("/api/auth/refresh/", json={"refresh": customer.refresh}), 401)
    assert "password_reset" in _actions(session, customer.user.id)


def test_an_expired_reset_token_is_refused(client: FlaskClient, session: Session,
                                           customer: Account) -> None:
    client.post("/api/auth/password-reset/", json={"email": customer.user.email})
    token = _mailed_token(session, customer.user.id, "password_reset")
    session.execute(text("UPDATE user_tokens SET expires_at = now() - interval '1 second'"))
    session.commit()
    response = client.post("/api/auth/password-reset/confirm/",
                           json={"token": token, "password": "new-Sunrise-77"})
    assert_envelope(response, 422, "invalid_token")
