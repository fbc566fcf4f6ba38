"""A 統一編號 on the profile must pass the Ministry of Finance checksum, with its own code."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.integration.api.api_helpers import Account, assert_envelope

pytestmark = pytest.mark.integration


def _patch(client: FlaskClient, account: Account, tax_id: str) -> object:
    return client.patch(f"/api/users/{account.id}/", headers=account.headers,
                        json={"company_name": "林記茶行", "tax_id": tax_id})


def test_a_tax_id_one_digit_off_is_refused_with_the_checksum_code(
    client: FlaskClient, customer: Account
) -> None:
    body = assert_envelope(_patch(client, customer, "22099132"), 422, "validation_error")
    assert body["error_codes"] == {"tax_id": ["tax_id_checksum"]}
    assert body["errors"]["tax_id"] == ["Not a valid tax ID (統一編號): check the digits."]
    after = client.get(f"/api/users/{customer.id}/", headers=customer.headers).get_json()
    assert after["tax_id"] == ""


def test_a_malformed_tax_id_keeps_its_format_code_alone(
    client: FlaskClient, customer: Account
) -> None:
    body = assert_envelope(_patch(client, customer, "2209913"), 422)
    assert body["error_codes"] == {"tax_id": ["tax_id_invalid"]}


@pytest.mark.parametrize("tax_id", ["22099131", "24549210", "10458575", ""])
def test_real_tax_ids_and_an_empty_one_are_kept(
    client: FlaskClient, customer: Account, tax_id: str
) -> None:
    response = _patch(client, customer, tax_id)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["tax_id"] == tax_id
