"""Every field error carries a stable code in ``error_codes`` beside the unchanged English text."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.integration.api.api_helpers import Account, assert_envelope

pytestmark = pytest.mark.integration


def _register(client: FlaskClient, **overrides: Any) -> Any:
    body = {"username": "meimei", "email": "meimei@example.tw", "password": "blue-Kettle-42",
            "language": "zh-TW"}
    body.update(overrides)
    return client.post("/api/auth/register/", json=body)


def test_a_common_password_is_coded_and_its_text_is_unchanged(client: FlaskClient) -> None:
    body = assert_envelope(_register(client, password="password123"), 422, "validation_error")
    assert body["errors"] == {"password": ["This password is too common."]}
    assert body["error_codes"] == {"password": ["password_too_common"]}


def test_a_short_password_lists_a_code_per_problem(client: FlaskClient) -> None:
    body = assert_envelope(_register(client, password="1234"), 422)
    assert body["errors"]["password"] == ["Use at least 8 characters.", "Do not use only digits."]
    assert body["error_codes"] == {"password": ["password_too_short", "password_only_digits"]}


def test_schema_errors_get_codes_from_marshmallow_messages(client: FlaskClient) -> None:
    body = assert_envelope(
        _register(client, username="ab", email="not-an-email", language="klingon"), 422)
    assert body["errors"]["email"] == ["Not a valid email address."]
    assert body["errors"]["username"] == ["Length must be between 3 and 150."]
    assert body["error_codes"] == {"email": ["email_invalid"],
                                   "username": ["length_out_of_range"],
                                   "language": ["invalid_choice"]}

    missing = assert_envelope(client.post("/api/auth/register/", json={}), 422)
    assert missing["error_codes"] == {name: ["required"]
                                      for name in ("username", "email", "password")}
    assert missing["errors"]["password"] == ["Missing data for required field."]


def test_our_own_patterns_carry_codes_the_dashboard_translates(client: FlaskClient,
                                                              customer: Account) -> None:
    body = assert_envelope(_register(client, username="mei mei!"), 422)
    assert body["errors"]["username"] == ["Letters, digits and @/./+/-/_ only."]
    assert body["error_codes"]["username"] == ["username_invalid"]
    response = client.patch(f"/api/users/{customer.user.id}/", headers=customer.headers, json={
        "phone": "call me", "tax_id": "1234", "avatar": "https://10.0.0.1/me.png"})
    body = assert_envelope(response, 422)
    assert body["error_codes"] == {"phone": ["phone_invalid"], "tax_id": ["tax_id_invalid"],
                                   "avatar": ["avatar_url_invalid"]}


def test_a_wrong_login_password_names_no_field(client: FlaskClient, customer: Account) -> None:
    # Which of the two was wrong stays unsaid (no account probing): a code, no field codes.
    response = client.post("/api/auth/login/", json={"username": customer.user.username,
                                                     "password": "not-the-password-9"})
    body = assert_envelope(response, 401, "invalid_credentials")
    assert body["errors"] == {} and body["error_codes"] == {}


def test_a_wrong_current_password_is_password_wrong(client: FlaskClient,
                                                    customer: Account) -> None:
    response = client.post("/api/users/change_password/", headers=customer.headers,
                           json={"old_password": "not-the-password-9",
                                 "new_password": "green-Teapot-77"})
    body = assert_envelope(response, 422, "validation_error")
    assert body["errors"] == {"old_password": ["Wrong password."]}
    assert body["error_codes"] == {"old_password": ["password_wrong"]}


def test_the_openapi_error_schema_documents_error_codes(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").get_json()
    error = spec["components"]["schemas"]["Error"]
    assert "error_codes" in error["required"]
    assert "password_too_common" in error["properties"]["error_codes"]["description"]
