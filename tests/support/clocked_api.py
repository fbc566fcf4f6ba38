"""Fixtures for tests that drive the API on a fixed clock: the app, its test client, a customer
and a staff member logged in, and bcrypt at its lowest cost.

A conftest imports them (pytest takes fixtures from the conftest's names; `pytest_plugins` is
refused outside the root conftest) and defines `clock`, the moment its tests run at. Each
fixture is registered under its `name=`, its function named otherwise, so that helpers in that
conftest can take `client` or `staff` parameters without shadowing a fixture.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from services.api.app import create_app
from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.session import dispose_engines
from services.core.usecases import auth_passwords
from tests.integration.api.api_helpers import Account, create_account, log_in


@pytest.fixture(name="fast_bcrypt", autouse=True)
def fast_bcrypt_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    """bcrypt at the lowest cost: the rules are the same, the suite stays fast."""
    monkeypatch.setattr(auth_passwords, "BCRYPT_ROUNDS", 4)


@pytest.fixture(name="app")
def app_fixture(settings: Settings, clock: FixedClock) -> Iterator[Flask]:
    app = create_app(settings, clock=clock)
    app.testing = True
    yield app
    dispose_engines()


@pytest.fixture(name="client")
def client_fixture(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(name="customer")
def customer_fixture(session: Session, client: FlaskClient) -> Account:
    return log_in(client, create_account(session))


@pytest.fixture(name="staff")
def staff_fixture(session: Session, client: FlaskClient) -> Account:
    return log_in(client, create_account(session, is_staff=True))
