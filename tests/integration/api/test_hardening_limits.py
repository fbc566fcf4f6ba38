"""Brute-force limits on the account endpoints: per client IP and per target account, blind to
bearer tokens, trusting X-Forwarded-For only across the configured proxy hops, and a log-in
delay the owner can end with a password reset."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from fluxus_ui.client import ApiClient
from fluxus_ui.errors import ApiError
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from services.api.app import create_app
from services.core.config import Settings
from services.core.db.models import AuditLog
from tests.integration.api.api_helpers import Account, assert_envelope, create_account, log_in
from tests.integration.api.test_api_auth import _mailed_token

pytestmark = pytest.mark.integration


def _login(client: FlaskClient, username: str, password: str, **headers: str) -> Any:
    return client.post("/api/auth/login/", json={"username": username, "password": password},
                       headers=headers)


def _throttled(endpoint: str, kind: str) -> float:
    value = REGISTRY.get_sample_value("fluxus_http_auth_throttled_total",
                                      {"endpoint": endpoint, "kind": kind})
    return value or 0.0


def test_guessing_one_password_through_rotating_tokens_gets_429(
    client: FlaskClient, session: Session, customer: Account, other_customer: Account
) -> None:
    victim = create_account(session)
    tokens = itertools.cycle([customer.headers, other_customer.headers])
    before = _throttled("/api/auth/login/", "account")

    answers = [_login(client, victim.user.username, f"guess-{n}", **next(tokens)).status_code
               for n in range(8)]

    assert answers[:5] == [401] * 5
    assert set(answers[5:]) == {429}, answers
    refused = _login(client, victim.user.username, "guess-9", **next(tokens))
    body = assert_envelope(refused, 429, "rate_limited")
    assert "Try again later" in body["message"]
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert _throttled("/api/auth/login/", "account") - before == 4


def test_one_address_trying_many_accounts_gets_429(
    client: FlaskClient, customer: Account, other_customer: Account
) -> None:
    tokens = itertools.cycle([customer.headers, other_customer.headers])
    # Two log-ins by the fixtures used two of this address's 20 a minute.
    answers = [_login(client, f"nobody{n}", "guess", **next(tokens)).status_code
               for n in range(19)]
    assert answers[:18] == [401] * 18
    assert answers[18] == 429


def test_an_account_is_delayed_whatever_address_the_guesses_come_from(
    settings: Settings, session: Session
) -> None:
    behind_proxy = create_app(Settings(**{**settings.__dict__, "trusted_proxies": 1}))
    client = behind_proxy.test_client()
    victim = create_account(session)
    for n in range(5):
        assert _login(client, victim.user.email, "guess",
                      **{"X-Forwarded-For": f"198.51.100.{n}"}).status_code == 401
    # The owner, from an address of their own, waits too: the delay is per account...
    assert_envelope(_login(client, victim.user.username, victim.password,
                           **{"X-Forwarded-For": "203.0.113.50"}), 429)
    # ...while other accounts from the attackers' addresses are untouched by it.
    bystander = create_account(session)
    assert _login(client, bystander.user.username, bystander.password,
                  **{"X-Forwarded-For": "198.51.100.1"}).status_code == 200


def test_forwarded_addresses_are_ignored_without_trusted_proxies(
    client: FlaskClient, session: Session
) -> None:
    # FLUXUS_TRUSTED_PROXIES=0: a forged X-Forwarded-For must not buy a fresh per-IP budget.
    answers = [_login(client, f"nobody{n}", "guess",
                      **{"X-Forwarded-For": f"192.0.2.{n}"}).status_code for n in range(21)]
    assert answers[:20] == [401] * 20
    assert answers[20] == 429


def test_the_owner_ends_a_login_delay_with_a_password_reset(
    client: FlaskClient, session: Session
) -> None:
    victim = create_account(session)
    for _ in range(5):
        assert _login(client, victim.user.username, "guess").status_code == 401
    assert_envelope(_login(client, victim.user.username, victim.password), 429)

    assert client.post("/api/auth/password-reset/",
                       json={"email": victim.user.email}).status_code == 202
    token = _mailed_token(session, victim.user.id, "password_reset")
    assert client.post("/api/auth/password-reset/confirm/",
                       json={"token": token, "password": "new-Sunrise-77"}).status_code == 200
    assert _login(client, victim.user.username, "new-Sunrise-77").status_code == 200


def test_a_correct_password_clears_the_accounts_count(
    client: FlaskClient, session: Session
) -> None:
    account = create_account(session)
    for _ in range(4):
        assert _login(client, account.user.username, "typo").status_code == 401
    log_in(client, account)
    for _ in range(4):  # a fresh budget: the owner's success is not held against them
        assert _login(client, account.user.username, "typo").status_code == 401
    log_in(client, account)


def test_registration_and_password_reset_are_limited_per_address(client: FlaskClient) -> None:
    registrations = [client.post("/api/auth/register/", json={
        "username": f"newbie{n}", "email": f"newbie{n}@example.tw",
        "password": "blue-Kettle-42"}).status_code for n in range(6)]
    assert registrations == [202] * 5 + [429]

    resets = [client.post("/api/auth/password-reset/",
                          json={"email": f"someone{n}@example.tw"}).status_code
              for n in range(6)]
    assert resets == [202] * 5 + [429]


def test_password_reset_is_limited_per_account(settings: Settings, session: Session) -> None:
    client = create_app(Settings(**{**settings.__dict__, "trusted_proxies": 1})).test_client()
    account = create_account(session)
    answers = [client.post("/api/auth/password-reset/", json={"email": account.user.email},
                           headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code
               for n in range(4)]
    assert answers == [202, 202, 202, 429]


def test_refresh_is_limited_per_account(settings: Settings, session: Session) -> None:
    client = create_app(Settings(**{**settings.__dict__, "trusted_proxies": 1})).test_client()
    account = create_account(session)
    response = _login(client, account.user.username, account.password)
    refresh = response.get_json()["refresh"]
    answers = []
    for n in range(11):
        answer = client.post("/api/auth/refresh/", json={"refresh": refresh},
                             headers={"X-Forwarded-For": f"198.51.100.{n}"})
        answers.append(answer.status_code)
        if answer.status_code == 200:
            refresh = answer.get_json()["refresh"]
    assert answers == [200] * 10 + [429]


@pytest.fixture
def api_behind_one_hop(settings: Settings) -> Iterator[str]:
    """The API over real HTTP on a free loopback port, trusting one proxy hop (the UI)."""
    app = create_app(Settings(**{**settings.__dict__, "trusted_proxies": 1}))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def test_the_dashboard_forwards_each_customers_address(
    api_behind_one_hop: str, session: Session
) -> None:
    """One attacker behind the dashboard exhausts only their own address's budget: every
    other customer still logs in through the same dashboard process."""

    async def scenario() -> list[int]:
        attacker = ApiClient(api_behind_one_hop, api_behind_one_hop,
                             forwarded_for="198.51.100.66")
        statuses = []
        for n in range(21):
            try:
                await attacker.login(f"nobody{n}", "guess")
            except ApiError as exc:
                statuses.append(exc.status)
        await attacker.aclose()
        customer = ApiClient(api_behind_one_hop, api_behind_one_hop,
                             forwarded_for="203.0.113.8")
        await customer.login(account.user.username, account.password)
        await customer.aclose()
        return statuses

    account = create_account(session)
    statuses = asyncio.run(scenario())
    assert statuses == [401] * 20 + [429]
    session.expire_all()
    addresses = set(session.scalars(select(AuditLog.ip_address)))
    assert addresses == {"198.51.100.66", "203.0.113.8"}
