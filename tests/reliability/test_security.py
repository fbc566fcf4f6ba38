"""Who gets in, over real HTTP to `fluxus api` and `fluxus payment` processes: bad tokens,
other customers' objects, staff-only endpoints, limits shared by two API processes, and
hostile input stored and returned inert."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.config import DEV_JWT_SECRET, Settings
from services.core.db.models import Invoice
from services.core.db.session import get_engine, session_scope
from services.core.ports import RecordingJobs
from services.core.usecases.payment_processing import complete_payment
from tests.e2e.customer import Customer
from tests.reliability.harness import Procs
from tests.reliability.stack import Stack
from tests.support.factories import make_plan

pytestmark = pytest.mark.e2e

ENVELOPE = {"code", "status", "message", "errors", "error_codes"}


@dataclass
class Services:
    api: str
    payment: str
    limited: tuple[str, str]  # two API processes with the production limits


@pytest.fixture
def database_url(module_database: str) -> str:
    return module_database


@pytest.fixture(autouse=True)
def _logs(process_logs: None) -> None:
    """Process logs under any failed test of this module."""


@pytest.fixture(scope="module")
def services(msettings: Settings, procs: Procs) -> Services:
    with session_scope(get_engine(msettings)) as db:
        make_plan(db, slug="pro", features=["API"])
    stack = Stack(msettings, procs)
    payment = stack.start_payment(workers=2, wait=False)
    api = stack.start_api(workers=2, wait=False)
    # Their own Redis database, so the relaxed process's traffic never spends their budget.
    limited_redis = msettings.redis_url.rsplit("/", 1)[0] + "/1"
    limits = {
        "FLUXUS_RATE_LIMITS": "60 per minute;1000 per hour",
        "FLUXUS_REDIS_URL": limited_redis,
    }
    limited = (
        stack.start_api(workers=1, name="api-limited-a", wait=False, **limits),
        stack.start_api(workers=1, name="api-limited-b", wait=False, **limits),
    )
    stack.wait_ready()
    return Services(api, payment, limited)


def _customer(services: Services) -> Customer:
    return Customer(services.api, services.payment, "").register_and_log_in()


def _envelope(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    assert set(body) == ENVELOPE and body["status"] == status, body
    if code is not None:
        assert body["code"] == code, body
    return body


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # HS512 forgery
def test_tampered_expired_wrongly_signed_and_revoked_tokens_are_refused(
    services: Services,
) -> None:
    customer, victim = _customer(services), _customer(services)
    claims = _claims(customer.access)
    header, _payload, signature = customer.access.split(".")
    as_victim = jwt.encode({**claims, "sub": _claims(victim.access)["sub"]}, "x" * 32)
    forged = {
        "payload swapped, signature kept": ".".join((header, as_victim.split(".")[1], signature)),
        "expired": jwt.encode({**claims, "exp": int(time.time()) - 5}, DEV_JWT_SECRET),
        "signed with another key": jwt.encode({**claims, "is_staff": True}, "y" * 40),
        "alg none": jwt.encode(claims, None, algorithm="none"),  # type: ignore[arg-type]
        "HS512 with the right key": jwt.encode(claims, DEV_JWT_SECRET, algorithm="HS512"),
        "refresh token as access": _refresh_of(services, customer),
    }
    for name, token in forged.items():
        for url in (f"{services.api}/api/users/me/", f"{services.api}/api/orders/"):
            body = _envelope(httpx.get(url, headers=_bearer(token)), 401)
            assert body["code"] in ("invalid_token", "token_expired"), (name, body)
        refused = httpx.post(
            f"{services.payment}/payment/ecpay/create/",
            json={"order_id": str(uuid.uuid4())},
            headers=_bearer(token),
        )
        _envelope(refused, 401)
    expired = httpx.get(f"{services.api}/api/users/me/", headers=_bearer(forged["expired"]))
    assert expired.json()["code"] == "token_expired"

    # Logged out: the access token is dead in both services at once.
    logout = httpx.post(f"{services.api}/api/auth/logout/", json={}, headers=customer.headers)
    assert logout.status_code == 204, logout.text
    _envelope(
        httpx.get(f"{services.api}/api/users/me/", headers=customer.headers), 401, "token_revoked"
    )
    _envelope(
        httpx.post(
            f"{services.payment}/payment/ecpay/create/",
            json={"order_id": str(uuid.uuid4())},
            headers=customer.headers,
        ),
        401,
        "token_revoked",
    )


def _refresh_of(services: Services, customer: Customer) -> str:
    login = httpx.post(
        f"{services.api}/api/auth/login/",
        json={"username": customer.username, "password": "Blue-Mango-2026!"},
    )
    token: str = login.json()["refresh"]
    return token


def test_a_reused_refresh_token_revokes_its_family_in_every_process(services: Services) -> None:
    customer = _customer(services)
    stolen = _refresh_of(services, customer)
    rotated = httpx.post(f"{services.api}/api/auth/refresh/", json={"refresh": stolen})
    assert rotated.status_code == 200
    fresh = rotated.json()

    _envelope(
        httpx.post(f"{services.api}/api/auth/refresh/", json={"refresh": stolen}),
        401,
        "token_reused",
    )
    for api in (services.api, *services.limited):  # another process holds no stale state
        _envelope(
            httpx.get(f"{api}/api/users/me/", headers=_bearer(fresh["access"])),
            401,
            "token_revoked",
        )
    _envelope(
        httpx.post(f"{services.api}/api/auth/refresh/", json={"refresh": fresh["refresh"]}), 401
    )


@dataclass
class Owned:
    user: str
    subscription: str
    order: str
    invoice: str


def _owned(services: Services, customer: Customer, settings: Settings) -> Owned:
    sub = customer.subscribe(customer.plan("pro")["id"])
    order = customer.order(sub["id"], "credit_card")
    with session_scope(get_engine(settings)) as db:
        paid = complete_payment(
            db,
            FixedClock(datetime.now(UTC)),
            RecordingJobs(),
            order_id=uuid.UUID(order["id"]),
            trade_no="2701011200000001",
            paid_at=datetime.now(UTC),
            amount=990,
            payment_type="Credit_CreditCard",
            raw={},
            source="callback",
        )
    return Owned(_claims(customer.access)["sub"], sub["id"], order["id"], str(paid.invoice_id))


def test_every_object_endpoint_answers_404_for_another_customers_id(
    services: Services, msettings: Settings, session: Session
) -> None:
    intruder, victim = _customer(services), _customer(services)
    theirs = _owned(services, victim, msettings)
    api, pay = services.api, services.payment
    attempts: dict[str, Callable[[httpx.Client], httpx.Response]] = {
        "read user": lambda c: c.get(f"{api}/api/users/{theirs.user}/"),
        "patch user": lambda c: c.patch(
            f"{api}/api/users/{theirs.user}/", json={"first_name": "pwned"}
        ),
        "put user": lambda c: c.put(
            f"{api}/api/users/{theirs.user}/",
            json={
                "username": f"pwned{uuid.uuid4().hex[:6]}",
                "email": "p@example.tw",
                "first_name": "pwned",
            },
        ),
        "read subscription": lambda c: c.get(f"{api}/api/subscriptions/{theirs.subscription}/"),
        "cancel subscription": lambda c: c.patch(
            f"{api}/api/subscriptions/{theirs.subscription}/update_status/",
            json={"status": "cancelled"},
        ),
        "read order": lambda c: c.get(f"{api}/api/orders/{theirs.order}/"),
        "order on their subscription": lambda c: c.post(
            f"{api}/api/orders/",
            json={"subscription_id": theirs.subscription, "payment_method": "atm"},
        ),
        "read invoice": lambda c: c.get(f"{api}/api/invoices/{theirs.invoice}/"),
        "check out their order": lambda c: c.post(
            f"{pay}/payment/ecpay/create/", json={"order_id": theirs.order}
        ),
        "their invoice at payment": lambda c: c.get(f"{pay}/payment/invoice/{theirs.order}/"),
        "their invoice PDF": lambda c: c.get(f"{pay}/payment/invoice/{theirs.order}/pdf"),
        "test payment of their order": lambda c: c.post(
            f"{pay}/payment/test/", json={"order_id": theirs.order, "paid": True}
        ),
    }
    with httpx.Client(headers=intruder.headers, timeout=30) as client:
        for name, attempt in attempts.items():
            response = attempt(client)
            assert response.status_code == 404, (name, response.status_code, response.text)
            assert set(response.json()) == ENVELOPE, name
        # Filters cannot widen a customer's lists to someone else's rows.
        for path in ("subscriptions", "orders", "invoices"):
            listed = client.get(f"{api}/api/{path}/", params={"user_id": theirs.user}).json()
            assert listed["total"] == 0, path

    # The owner sees everything as it was.
    assert victim.get(f"/api/users/{theirs.user}/")["first_name"] != "pwned"
    assert victim.get(f"/api/subscriptions/{theirs.subscription}/")["status"] == "active"
    assert victim.get("/api/orders/")["total"] == 1
    assert session.get_one(Invoice, uuid.UUID(theirs.invoice)).order_id == uuid.UUID(theirs.order)


def test_staff_only_endpoints_answer_403_to_a_customer(services: Services) -> None:
    customer = _customer(services)
    me = _claims(customer.access)["sub"]
    api = services.api
    with httpx.Client(headers=customer.headers, timeout=30) as client:
        for response in (
            client.get(f"{api}/api/users/"),
            client.post(
                f"{api}/api/users/",
                json={
                    "username": "mallory",
                    "password": "x" * 12,
                    "email": "m@example.tw",
                    "is_staff": True,
                },
            ),
            client.delete(f"{api}/api/users/{me}/"),
            client.get(f"{api}/api/audit-logs/"),
        ):
            _envelope(response, 403)
        elevate = client.patch(f"{api}/api/users/{me}/", json={"is_staff": True})
        assert elevate.status_code in (403, 422), elevate.text
        assert client.get(f"{api}/api/users/me/").json()["is_staff"] is False


def test_the_rate_limit_is_held_across_two_api_processes(services: Services) -> None:
    first, second = services.limited
    plan_id = httpx.get(f"{services.api}/api/plans/", timeout=10).json()["results"][0]["id"]
    for n in range(60):
        # Fresh connections, alternating processes: only Redis can see the total.
        response = httpx.get(f"{(first, second)[n % 2]}/api/plans/{plan_id}/", timeout=10)
        assert response.status_code == 200, (n, response.text)
    for api in (first, second):
        refused = httpx.get(f"{api}/api/plans/{plan_id}/", timeout=10)
        _envelope(refused, 429, "rate_limited")
        assert 0 < int(refused.headers["Retry-After"]) <= 60
        # The plan list is served from each process's memory and limited in it, apart.
        assert httpx.get(f"{api}/api/plans/", timeout=10).status_code == 200


HOSTILE = [
    "<script>alert(document.cookie)</script>",
    "'; DROP TABLE users; --",
    '" OR 1=1 --',
    "Robert'); DELETE FROM orders WHERE ('1'='1",
    "<img src=x onerror=alert(1)>",
]


def test_hostile_strings_are_stored_verbatim_and_returned_inert(
    services: Services, session: Session
) -> None:
    customer = _customer(services)
    me = _claims(customer.access)["sub"]
    users_before = session.execute(text("SELECT count(*) FROM users")).scalar_one()
    orders_before = session.execute(text("SELECT count(*) FROM orders")).scalar_one()
    for value in HOSTILE:
        response = httpx.patch(
            f"{services.api}/api/users/{me}/",
            headers=customer.headers,
            json={"first_name": value[:50], "company_name": value},
        )
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        body = response.json()
        assert (body["first_name"], body["company_name"]) == (value[:50], value)
    assert customer.get("/api/users/me/")["company_name"] == HOSTILE[-1]
    # As search terms and filters they are data, not SQL.
    for value in HOSTILE:
        listed = httpx.get(
            f"{services.api}/api/orders/", headers=customer.headers, params={"status": value}
        )
        assert listed.status_code in (200, 422), listed.text
        login = httpx.post(
            f"{services.api}/api/auth/login/", json={"username": value, "password": value}
        )
        _envelope(login, 401)
    # The tables those strings name are all still there, with every row.
    assert session.execute(text("SELECT count(*) FROM users")).scalar_one() == users_before
    assert session.execute(text("SELECT count(*) FROM orders")).scalar_one() == orders_before


def test_oversized_bodies_and_wrong_content_types_are_4xx_envelopes(
    services: Services,
) -> None:
    customer = _customer(services)
    big = "x" * 70_000
    api, pay = services.api, services.payment
    _envelope(
        httpx.post(
            f"{api}/api/auth/login/",
            content=f'{{"username": "{big}"}}',
            headers={"Content-Type": "application/json"},
        ),
        413,
    )
    oversized = httpx.post(
        f"{pay}/payment/ecpay/create/",
        content=f'{{"order_id": "{big}"}}',
        headers={**customer.headers, "Content-Type": "application/json"},
    )
    _envelope(oversized, 413)
    assert httpx.post(f"{pay}/payment/ecpay/callback/", data={"Padding": big}).status_code == 413
    for content_type, content in (
        ("text/plain", "username=a&password=b"),
        ("application/x-www-form-urlencoded", "username=a&password=b"),
        ("application/xml", "<login/>"),
        ("application/json", "{not json"),
    ):
        response = httpx.post(
            f"{api}/api/auth/login/", content=content, headers={"Content-Type": content_type}
        )
        assert 400 <= response.status_code < 500, (content_type, response.text)
        assert set(response.json()) == ENVELOPE
    create = httpx.post(
        f"{pay}/payment/ecpay/create/",
        content="order_id=1",
        headers={**customer.headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert 400 <= create.status_code < 500, create.text
