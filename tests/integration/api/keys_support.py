"""Helpers for the API-key tests: create a key as staff, the header it is sent in."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.integration.api.api_helpers import Account


def make_key(client: FlaskClient, staff: Account, *scopes: str,
             name: str = "saas backend") -> dict[str, Any]:
    response = client.post("/api/api-keys/", json={"name": name, "scopes": list(scopes)},
                           headers=staff.headers)
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def bearer(key: dict[str, Any] | str) -> dict[str, str]:
    secret = key if isinstance(key, str) else key["key"]
    return {"Authorization": f"Bearer {secret}"}
