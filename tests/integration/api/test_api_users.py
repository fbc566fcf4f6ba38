"""Users over HTTP: staff administration, self-service, the privileged flags, passwords."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.db.models import AuditLog, User
from tests.integration.api.api_helpers import Account, assert_envelope, create_account, log_in

pytestmark = pytest.mark.integration


def test_staff_list_users_with_pagination_and_filters(
    client: FlaskClient, session: Session, staff: Account, customer: Account
) -> None:
    for n in range(3):
        create_account(session, username=f"paged{n}", email=f"paged{n}@example.tw")
    create_account(session, username="gone", is_active=False)

    page = client.get("/api/users/?page=2&page_size=2", headers=staff.headers).get_json()
    assert page["total"] == 6 and page["page"] == 2 and page["page_size"] == 2
    assert page["pages"] == 3 and len(page["results"]) == 2
    found = client.get("/api/users/?search=PAGED", headers=staff.headers).get_json()
    assert sorted(u["username"] for u in found["results"]) == ["paged0", "paged1", "paged2"]
    inactive = client.get("/api/users/?is_active=false", headers=staff.headers).get_json()
    assert [u["username"] for u in inactive["results"]] == ["gone"]
    assert_envelope(client.get("/api/users/?page_size=101", headers=staff.headers), 422)


def test_customers_may_not_list_or_create_users(client: FlaskClient, customer: Account) -> None:
    assert_envelope(client.get("/api/users/", headers=customer.headers), 403, "forbidden")
    response = client.post("/api/users/", headers=customer.headers, json={
        "username": "sneaky", "email": "s@example.tw", "password": "blue-Kettle-42"})
    assert_envelope(response, 403)
    assert_envelope(client.get("/api/users/"), 401)


def test_staff_create_users_and_it_is_audited(client: FlaskClient, session: Session,
                                              staff: Account) -> None:
    response = client.post("/api/users/", headers=staff.headers, json={
        "username": "helper", "email": "helper@example.tw", "password": "blue-Kettle-42",
        "is_staff": True, "is_verified": True})
    assert response.status_code == 201
    body = response.get_json()
    assert body["is_staff"] is True and body["is_verified"] is True
    row = session.scalars(select(AuditLog).where(AuditLog.action == "user_create")).one()
    assert row.user_id == staff.user.id and row.resource_id == body["id"]


def test_a_customer_sees_only_itself(client: FlaskClient, customer: Account,
                                     other_customer: Account, staff: Account) -> None:
    own = client.get(f"/api/users/{customer.id}/", headers=customer.headers)
    assert own.status_code == 200 and own.get_json()["id"] == customer.id
    assert_envelope(client.get(f"/api/users/{other_customer.id}/", headers=customer.headers),
                    404)
    assert_envelope(client.patch(f"/api/users/{other_customer.id}/", headers=customer.headers,
                                 json={"first_name": "x"}), 404)
    assert client.get(f"/api/users/{customer.id}/", headers=staff.headers).status_code == 200


def test_put_and_patch_change_the_profile_and_audit_it(
    client: FlaskClient, session: Session, customer: Account
) -> None:
    patched = client.patch(f"/api/users/{customer.id}/", headers=customer.headers,
                           json={"company_name": "Fluxus 有限公司", "tax_id": "24549210"})
    assert patched.status_code == 200
    assert patched.get_json()["company_name"] == "Fluxus 有限公司"
    put = client.put(f"/api/users/{customer.id}/", headers=customer.headers, json={
        "username": customer.user.username, "email": "new-address@example.tw",
        "language": "en", "current_password": customer.password})
    assert put.status_code == 200
    body = put.get_json()
    assert body["email"] == "new-address@example.tw" and body["language"] == "en"
    assert body["is_verified"] is False  # a changed address must be verified again
    assert_envelope(client.put(f"/api/users/{customer.id}/", headers=customer.headers,
                               json={"language": "en"}), 422)
    assert len(session.scalars(select(AuditLog).where(
        AuditLog.action == "user_update")).all()) == 2


@pytest.mark.parametrize("flag", ["is_staff", "is_superuser", "is_verified", "is_active"])
def test_nobody_sets_privileged_flags_on_itself(client: FlaskClient, customer: Account,
                                                staff: Account, flag: str) -> None:
    for account in (customer, staff):
        current = getattr(account.user, flag)
        response = client.patch(f"/api/users/{account.id}/", headers=account.headers,
                                json={flag: not current})
        assert_envelope(response, 403, "forbidden")
    # Sending the current value back (a full PUT echo) is harmless.
    echo = client.patch(f"/api/users/{customer.id}/", headers=customer.headers,
                        json={flag: getattr(customer.user, flag)})
    assert echo.status_code == 200


def test_staff_set_flags_on_others(client: FlaskClient, customer: Account,
                                   staff: Account) -> None:
    response = client.patch(f"/api/users/{customer.id}/", headers=staff.headers,
                            json={"is_verified": True})
    assert response.status_code == 200 and response.get_json()["is_verified"] is True
    assert_envelope(client.patch(f"/api/users/{customer.id}/", headers=staff.headers,
                                 json={"is_superuser": True}), 403)


def test_a_taken_email_is_a_conflict(client: FlaskClient, customer: Account,
                                     other_customer: Account) -> None:
    response = client.patch(f"/api/users/{customer.id}/", headers=customer.headers,
                            json={"email": other_customer.user.email.upper(),
                                  "current_password": customer.password})
    assert_envelope(response, 409)


def test_delete_deactivates_and_is_staff_only(client: FlaskClient, session: Session,
                                              customer: Account, staff: Account) -> None:
    assert_envelope(client.delete(f"/api/users/{customer.id}/", headers=customer.headers), 403)
    assert client.delete(f"/api/users/{customer.id}/", headers=staff.headers).status_code == 204
    session.expire_all()
    user = session.get(User, customer.user.id)
    assert user is not None and user.is_active is False  # soft: the row stays
    assert_envelope(client.get("/api/users/me/", headers=customer.headers), 401)
    assert_envelope(client.post("/api/auth/login/", json={
        "username": customer.user.username, "password": customer.password}), 401)
    assert_envelope(client.delete(f"/api/users/{staff.id}/", headers=staff.headers), 409)
    assert session.scalars(select(AuditLog).where(AuditLog.action == "user_delete")).one()


def test_change_password_needs_the_old_one_and_revokes_other_logins(
    client: FlaskClient, session: Session, customer: Account
) -> None:
    wrong = client.post("/api/users/change_password/", headers=customer.headers,
                        json={"old_password": "nope-nope", "new_password": "fresh-Mango-31"})
    assert "old_password" in assert_envelope(wrong, 422)["errors"]
    other_login = log_in(client, Account(user=customer.user, password=customer.password))

    response = client.post("/api/users/change_password/", headers=customer.headers,
                           json={"old_password": customer.password,
                                 "new_password": "fresh-Mango-31"})
    assert response.status_code == 200
    fresh = response.get_json()
    assert_envelope(client.get("/api/users/me/", headers=other_login.headers), 401)
    assert_envelope(client.post("/api/auth/refresh/", json={"refresh": other_login.refresh}),
                    401)
    assert client.get("/api/users/me/", headers={
        "Authorization": f"Bearer {fresh['access']}"}).status_code == 200
    assert client.post("/api/auth/login/", json={"username": customer.user.username,
                                                 "password": "fresh-Mango-31"}).status_code == 200
    assert session.scalars(select(AuditLog).where(AuditLog.action == "password_change")).one()
