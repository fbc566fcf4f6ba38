"""Staff read the audit log with people's e-mails and names beside each row, and find a
person's rows by e-mail instead of a UUID."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from services.core.usecases import audit
from services.core.usecases.audit import Actor
from tests.integration.api.api_helpers import Account, assert_envelope, create_account

pytestmark = pytest.mark.integration


def test_audit_rows_name_their_users_and_can_be_found_by_e_mail(
    client: FlaskClient, session: Session, staff: Account, customer: Account,
) -> None:
    mei = create_account(session, email="Mei.Lin@example.tw", first_name="美", last_name="林")
    audit.record(session, Actor(user_id=mei.user.id), "profile_update",
                 resource_type="user", resource_id=mei.user.id)
    audit.record(session, audit.SYSTEM, "renewal_skipped", resource_type="subscription")
    session.commit()

    rows = client.get("/api/audit-logs/", headers=staff.headers).get_json()["results"]
    by_action = {row["action"]: row for row in rows}
    assert (by_action["profile_update"]["user_email"],
            by_action["profile_update"]["user_name"]) == ("Mei.Lin@example.tw", "美 林")
    assert by_action["renewal_skipped"]["user_email"] is None  # the system is nobody

    mine = client.get("/api/audit-logs/", query_string={"user_email": "mei.lin@EXAMPLE.tw"},
                      headers=staff.headers).get_json()
    assert [row["action"] for row in mine["results"]] == ["profile_update"]
    assert mine["results"][0]["user_id"] == str(mei.user.id)
    assert_envelope(client.get("/api/audit-logs/", headers=customer.headers), 403)
