"""Registration and password reset answer every problem of a form at once, not one batch per
attempt."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.integration.api.api_helpers import assert_envelope

pytestmark = pytest.mark.integration


def test_field_password_and_confirmation_problems_come_in_one_answer(
    client: FlaskClient,
) -> None:
    body = assert_envelope(client.post("/api/auth/register/", json={
        "username": "a b", "email": "not-an-address", "password": "password123",
        "password_confirm": "password124"}), 422, "validation_error")
    assert body["error_codes"] == {
        "username": ["username_invalid"], "email": ["email_invalid"],
        "password": ["password_too_common"], "password_confirm": ["password_mismatch"]}


def test_missing_fields_and_a_mismatch_come_together(client: FlaskClient) -> None:
    body = assert_envelope(client.post("/api/auth/register/", json={
        "password": "blue-Kettle-42", "password_confirm": ""}), 422)
    assert body["error_codes"] == {"username": ["required"], "email": ["required"],
                                   "password_confirm": ["password_mismatch"]}


def test_a_good_form_still_registers(client: FlaskClient) -> None:
    response = client.post("/api/auth/register/", json={
        "username": "meimei", "email": "meimei@example.tw", "password": "blue-Kettle-42",
        "password_confirm": "blue-Kettle-42"})
    assert response.status_code == 202, response.get_json()


def test_a_reset_answers_the_password_rules_and_the_confirmation_together(
    client: FlaskClient,
) -> None:
    body = assert_envelope(client.post("/api/auth/password-reset/confirm/", json={
        "token": "a-link-token", "password": "12345678", "password_confirm": "1234567"}), 422)
    assert "password_only_digits" in body["error_codes"]["password"]
    assert body["error_codes"]["password_confirm"] == ["password_mismatch"]
