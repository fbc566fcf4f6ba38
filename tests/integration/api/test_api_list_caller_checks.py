"""GET /api/subscriptions/ checks its caller on every request: a token logged out, a token
whose login family was revoked (refresh-token reuse), an account deactivated without its
tokens being revoked, and a token for an account that no longer exists are each refused,
while another customer's token keeps working in between."""

from __future__ import annotations

import uuid

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_jwt_extended import create_access_token
from sqlalchemy import update
from sqlalchemy.orm import Session

from services.core.db.models import User
from tests.integration.api.api_helpers import Account, assert_envelope

pytestmark = pytest.mark.integration
LIST = "/api/subscriptions/"


def _still_works(client: FlaskClient, account: Account) -> None:
    assert client.get(LIST, headers=account.headers).status_code == 200


def test_a_token_of_a_revoked_login_family_is_refused(
    client: FlaskClient, customer: Account, other_customer: Account
) -> None:
    _still_works(client, customer)
    rotated = client.post("/api/auth/refresh/", json={"refresh": customer.refresh})
    assert rotated.status_code == 200
    fresh = {"Authorization": f"Bearer {rotated.get_json()['access']}"}
    assert client.get(LIST, headers=fresh).status_code == 200
    # Presenting the spent refresh token again revokes the whole family.
    assert_envelope(client.post("/api/auth/refresh/", json={"refresh": customer.refresh}),
                    401, "token_reused")
    for _ in range(2):
        for headers in (customer.headers, fresh):
            assert_envelope(client.get(LIST, headers=headers), 401, "token_revoked")
        _still_works(client, other_customer)


def test_a_logged_out_token_is_refused_and_others_are_not(
    client: FlaskClient, customer: Account, other_customer: Account
) -> None:
    assert client.post("/api/auth/logout/", headers=customer.headers,
                       json={"refresh": customer.refresh}).status_code == 204
    for _ in range(2):
        assert_envelope(client.get(LIST, headers=customer.headers), 401, "token_revoked")
        _still_works(client, other_customer)


def test_a_deactivated_account_is_refused_though_its_tokens_are_not_revoked(
    client: FlaskClient, session: Session, customer: Account, other_customer: Account
) -> None:
    _still_works(client, customer)
    session.execute(update(User).where(User.id == customer.user.id).values(is_active=False))
    session.commit()
    for _ in range(2):
        assert_envelope(client.get(LIST, headers=customer.headers), 401, "invalid_token")
        _still_works(client, other_customer)


def test_a_token_for_an_account_that_does_not_exist_is_refused(
    app: Flask, client: FlaskClient, other_customer: Account
) -> None:
    with app.app_context():
        token = create_access_token(identity=str(uuid.uuid4()), additional_claims={
            "jti": uuid.uuid4().hex, "fam": uuid.uuid4().hex, "staff": True})
    for _ in range(2):
        assert_envelope(client.get(LIST, headers={"Authorization": f"Bearer {token}"}),
                        401, "invalid_token")
        _still_works(client, other_customer)
