"""FLUXUS_DATABASE_REPLICA_URL: list endpoints read the replica; writes, detail reads and
authentication stay on the primary; unset, nothing changes."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from services.api.app import create_app
from services.core.config import Settings
from services.core.db.models import Plan, Subscription
from services.core.db.session import dispose_engines
from services.core.usecases import auth_passwords
from services.web.reads import read_session
from services.web.uow import db_session
from tests.integration.api.api_helpers import Account, create_account, log_in
from tests.integration.db_pooling.conftest import read_only_role
from tests.support import databases
from tests.support.factories import make_plan

pytestmark = pytest.mark.integration

CUSTOMER_LISTS = ("/api/plans/", "/api/subscriptions/", "/api/orders/", "/api/invoices/")
STAFF_LISTS = ("/api/users/", "/api/users/?q=user", "/api/audit-logs/",
               "/api/payment-reviews/", "/api/einvoices/",
               "/api/reports/mrr/?from=2026-01-01&to=2026-12-31")


@pytest.fixture(autouse=True)
def fast_bcrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth_passwords, "BCRYPT_ROUNDS", 4)


def _app(settings: Settings) -> Iterator[Flask]:
    app = create_app(settings)
    app.testing = True
    yield app
    dispose_engines()


def _get(client: FlaskClient, who: Account, path: str) -> Any:
    response = client.get(path, headers=who.headers)
    assert response.status_code == 200, (path, response.get_data(as_text=True))
    return response.get_json()


def _subscribe_and_order(client: FlaskClient, who: Account, plan_id: Any) -> tuple[str, str]:
    sub = client.post("/api/subscriptions/", json={"plan_id": str(plan_id)}, headers=who.headers)
    assert sub.status_code == 201, sub.get_json()
    order = client.post("/api/orders/", json={"subscription_id": sub.get_json()["id"],
                                              "payment_method": "atm"}, headers=who.headers)
    assert order.status_code == 201, order.get_json()
    return sub.get_json()["id"], order.get_json()["id"]


def _reader_connections(engine_url: str, role: str) -> int:
    engine = create_engine(engine_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE usename = :role"), {"role": role}
            ).scalar_one())
    finally:
        engine.dispose()


def test_lists_answer_through_a_read_only_replica_while_writes_reach_the_primary(
    settings: Settings, session: Session
) -> None:
    plan = make_plan(session, slug="pro")
    session.commit()
    customer, staff = create_account(session), create_account(session, is_staff=True)
    with read_only_role(settings.database_url) as replica_url:
        replica = dataclasses.replace(settings, database_replica_url=replica_url)
        for app in _app(replica):
            client = app.test_client()
            log_in(client, customer)
            log_in(client, staff)
            # Writes through a session whose every transaction is read only would fail:
            # these reach the primary, and the order reads back at once (read after write).
            sub_id, order_id = _subscribe_and_order(client, customer, plan.id)
            assert _get(client, customer, f"/api/orders/{order_id}/")["status"] == "pending"
            lists = {path: _get(client, customer, path) for path in CUSTOMER_LISTS}
            assert [p["slug"] for p in lists["/api/plans/"]["results"]] == ["pro"]
            assert [s["id"] for s in lists["/api/subscriptions/"]["results"]] == [sub_id]
            assert [o["id"] for o in lists["/api/orders/"]["results"]] == [order_id]
            for path in STAFF_LISTS:
                _get(client, staff, path)
            role = replica_url.split("//", 1)[1].split("@", 1)[0]
            assert _reader_connections(settings.database_url, role) >= 1


def test_lists_show_the_replica_and_everything_else_the_primary(
    settings: Settings, session: Session, pg_template: str
) -> None:
    """A replica that has not caught up yet (a copy of the schema with none of the rows):
    the lists show what it holds, the detail pages and writes what the primary holds."""
    plan = make_plan(session, slug="pro")
    session.commit()
    customer = create_account(session)  # on the primary only: log-in and tokens read there
    with databases.fresh_database(template=pg_template) as lagging, \
            read_only_role(lagging) as replica_url:
        for app in _app(dataclasses.replace(settings, database_replica_url=replica_url)):
            client = app.test_client()
            log_in(client, customer)
            assert _get(client, customer, "/api/plans/")["results"] == []
            assert _get(client, customer, f"/api/plans/{plan.id}/")["slug"] == "pro"
            sub_id, order_id = _subscribe_and_order(client, customer, plan.id)
            assert _get(client, customer, "/api/orders/")["results"] == []
            assert _get(client, customer, f"/api/orders/{order_id}/")["id"] == order_id
            assert _get(client, customer, f"/api/subscriptions/{sub_id}/")["status"]
        copy = create_engine(lagging)
        try:
            with Session(copy) as replica_side:
                assert replica_side.scalar(select(func.count()).select_from(Subscription)) == 0
        finally:
            copy.dispose()
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Subscription)) == 1


def test_without_a_replica_lists_read_the_requests_own_session(
    settings: Settings, session: Session
) -> None:
    assert settings.database_replica_url == ""
    customer = create_account(session)
    for app in _app(settings):
        client = app.test_client()
        log_in(client, customer)
        with app.test_request_context("/api/plans/"):
            assert read_session() is db_session()
        plan = make_plan(session, slug="fresh")
        session.commit()
        slugs = [p["slug"] for p in _get(client, customer, "/api/plans/")["results"]]
        assert slugs == ["fresh"]
        assert session.get(Plan, plan.id) is not None
