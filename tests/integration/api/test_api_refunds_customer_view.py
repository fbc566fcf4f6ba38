"""What a customer reads of their refunds: amount, state and dates of their own orders only,
never staff's internal reason note."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from services.core.config import Settings
from tests.integration.api.api_helpers import Account, assert_envelope
from tests.integration.api.test_api_refunds import paid, post

pytestmark = pytest.mark.integration


def test_the_customer_sees_amount_state_and_date_but_not_the_staff_note(
    client: FlaskClient, session: Session, settings: Settings, customer: Account,
    other_customer: Account, staff: Account, plan: Any,
) -> None:
    order_id = paid(session, settings, customer, plan)
    created = post(client, staff, order_id, {"amount": "300", "reason": "客訴：態度不佳，內部備註"})
    assert created.status_code == 201, created.get_json()
    url = f"/api/orders/{order_id}/refunds/"
    [mine] = client.get(url, headers=customer.headers).get_json()["results"]
    assert (mine["amount"], mine["status"], mine["reason"]) == ("300", "owed", "")
    assert mine["created_at"]
    [staffs] = client.get(url, headers=staff.headers).get_json()["results"]
    assert staffs["reason"] == "客訴：態度不佳，內部備註"
    assert_envelope(client.get(url, headers=other_customer.headers), 404)
