"""Fixtures for the API tests: an app on the test database and Redis, accounts, log-ins."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from services.api.app import create_app
from services.core.config import Settings
from services.core.db.session import dispose_engines
from services.core.usecases import auth_passwords
from tests.integration.api.api_helpers import Account, create_account, log_in
from tests.support.factories import make_plan


@pytest.fixture(autouse=True)
def fast_bcrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """bcrypt at the lowest cost: the rules are the same, the suite stays fast."""
    monkeypatch.setattr(auth_passwords, "BCRYPT_ROUNDS", 4)


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = create_app(settings)
    app.testing = True
    yield app
    dispose_engines()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def customer(session: Session, client: FlaskClient) -> Account:
    return log_in(client, create_account(session))


@pytest.fixture
def other_customer(session: Session, client: FlaskClient) -> Account:
    return log_in(client, create_account(session))


@pytest.fixture
def staff(session: Session, client: FlaskClient) -> Account:
    return log_in(client, create_account(session, is_staff=True))


@pytest.fixture
def plan(session: Session) -> Any:
    plan = make_plan(session, price=990, sort_order=1)
    session.commit()
    return plan
