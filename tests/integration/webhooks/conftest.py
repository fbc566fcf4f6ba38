"""Fixtures for webhook tests: a local receiver, staff, and an endpoint pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.db.models import User
from services.core.usecases.audit import Actor
from services.core.usecases.webhooks import endpoints
from tests.integration.webhooks.webhook_receiver import Receiver
from tests.support.factories import make_user


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def clock() -> FixedClock:
    # The real time: the reference verifier checks webhook-timestamp against it (±5 min).
    return FixedClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def staff(session: Session) -> User:
    user = make_user(session, is_staff=True)
    session.commit()
    return user


@pytest.fixture
def endpoint(session: Session, clock: FixedClock, staff: User,
             receiver: Receiver) -> endpoints.WithSecret:
    made = endpoints.create(session, clock, Actor(user_id=staff.id, is_staff=True), staff,
                            url=receiver.url, event_types=["*"], allow_private=True)
    session.commit()
    return made
