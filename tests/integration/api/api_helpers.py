"""Helpers for the API tests: accounts, log-ins and the error-envelope assertion."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy.orm import Session

from services.core.config import Settings
from services.core.db.models import User
from services.core.db.session import get_engine
from services.core.usecases import auth_passwords

PASSWORD = "Tr0ub4dor&3-horse"


@dataclass
class Account:
    user: User
    password: str
    access: str = ""
    refresh: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return str(self.user.id)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}


def create_account(session: Session, **fields: Any) -> Account:
    tag = uuid.uuid4().hex[:8]
    values: dict[str, Any] = {"username": f"user{tag}", "email": f"user{tag}@example.tw"}
    values.update(fields)
    user = User(password_hash=auth_passwords.hash_password(PASSWORD), **values)
    session.add(user)
    session.commit()
    return Account(user=user, password=PASSWORD)


def log_in(client: FlaskClient, account: Account) -> Account:
    response = client.post("/api/auth/login/", json={"username": account.user.username,
                                                     "password": account.password})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    account.access, account.refresh = body["access"], body["refresh"]
    return account


def assert_envelope(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The answer is the Fluxus error envelope with this status (and code)."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"code", "status", "message", "errors", "error_codes"}, body
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code, body
    return dict(body)


@contextmanager
def statements(settings: Settings) -> Iterator[list[str]]:
    """The SQL statements the app's engine runs inside the block, in order."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engine = get_engine(settings)
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
