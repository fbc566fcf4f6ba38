"""Test clocks for staff: create one, put new test customers on it, ask it to advance, list,
show and delete it. The advance itself is a job (see test_clocks.advance)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.config import Settings
from services.core.db.models import TestClock, User
from services.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from services.core.ports import Jobs
from services.core.usecases import audit, users
from services.core.usecases.api_pages import Page, paginate
from services.core.usecases.audit import Actor

ADVANCE_JOB = "advance_test_clock"
# Stripe allows two billing intervals per advance; two years keeps a yearly plan testable
# while bounding one job's work.
MAX_ADVANCE = timedelta(days=731)


class Status(StrEnum):
    READY = "ready"
    ADVANCING = "advancing"  # an advance job is stepping through the boundaries
    FAILED = "failed"  # the last advance stopped at frozen_time; see last_error


class TestClocksDisabled(PermissionDenied):
    code = "test_clocks_disabled"
    __test__ = False


@dataclass(frozen=True)
class ClockView:
    clock: TestClock
    customers: int

    def as_dict(self) -> dict[str, Any]:
        c = self.clock
        return {"id": c.id, "name": c.name, "frozen_time": c.frozen_time, "status": c.status,
                "advancing_to": c.advancing_to, "steps": c.steps, "last_error": c.last_error,
                "customers": self.customers, "created_at": c.created_at}


def _enabled(settings: Settings, caller: User) -> None:
    if not caller.is_staff:
        raise PermissionDenied("staff only")
    if not settings.test_clocks:
        raise TestClocksDisabled("test clocks are off in this deployment (FLUXUS_TEST_CLOCKS)")


def _view(session: Session, clock: TestClock) -> ClockView:
    count = session.scalar(select(func.count()).select_from(User)
                           .where(User.test_clock_id == clock.id)) or 0
    return ClockView(clock, count)


def _get(session: Session, clock_id: uuid.UUID, *, lock: bool = False) -> TestClock:
    query = select(TestClock).where(TestClock.id == clock_id, TestClock.deleted_at.is_(None))
    found = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if found is None:
        raise NotFound("no such test clock")
    return found


def create(session: Session, clock: Clock, settings: Settings, actor: Actor, caller: User, *,
           name: str, frozen_time: datetime | None) -> ClockView:
    _enabled(settings, caller)
    row = TestClock(name=name, frozen_time=frozen_time or clock.now(), status=Status.READY.value,
                    steps=0, created_by=caller.id)
    session.add(row)
    session.flush()
    audit.record(session, actor, "test_clock.create", resource_type="test_clock",
                 resource_id=row.id, meta={"frozen_time": row.frozen_time.isoformat()})
    return ClockView(row, 0)


def get(session: Session, settings: Settings, caller: User, clock_id: uuid.UUID) -> ClockView:
    _enabled(settings, caller)
    return _view(session, _get(session, clock_id))


def list_clocks(session: Session, settings: Settings, caller: User, *, page: int,
                page_size: int) -> Page[Any]:
    _enabled(settings, caller)
    query = (select(TestClock).where(TestClock.deleted_at.is_(None))
             .order_by(TestClock.created_at.desc(), TestClock.id))
    found = paginate(session, query, page=page, page_size=page_size)
    items = [_view(session, row).as_dict() for row in found.items]
    return Page(items, found.total, found.page, found.page_size)


def add_customer(session: Session, settings: Settings, actor: Actor, caller: User,
                 clock_id: uuid.UUID, fields: dict[str, Any]) -> User:
    """A new customer living on the clock (never an existing one: its history was written
    on the real time, and a clock only moves what it has always owned)."""
    _enabled(settings, caller)
    test_clock = _get(session, clock_id)
    user = users.create_user(session, actor, caller, {**fields, "is_staff": False})
    user.test_clock_id = test_clock.id
    audit.record(session, actor, "test_clock.customer_create", resource_type="test_clock",
                 resource_id=test_clock.id, user_id=user.id)
    return user


def customers(session: Session, settings: Settings, caller: User,
              clock_id: uuid.UUID) -> list[User]:
    _enabled(settings, caller)
    _get(session, clock_id)
    return list(session.scalars(select(User).where(User.test_clock_id == clock_id)
                                .order_by(User.created_at, User.id)))


def request_advance(session: Session, settings: Settings, jobs: Jobs, actor: Actor,
                    caller: User, clock_id: uuid.UUID, frozen_time: datetime) -> ClockView:
    """Mark the clock advancing and enqueue the job that steps it to `frozen_time`."""
    _enabled(settings, caller)
    row = _get(session, clock_id, lock=True)
    if row.status == Status.ADVANCING.value:
        raise Conflict("the clock is already advancing", code="test_clock_advancing")
    if frozen_time <= row.frozen_time:
        after = row.frozen_time.isoformat()
        raise ValidationError("a test clock only moves forward",
                              errors={"frozen_time": [f"must be after {after}"]})
    if frozen_time - row.frozen_time > MAX_ADVANCE:
        raise ValidationError("advance at most two years at a time",
                              errors={"frozen_time": ["more than two years ahead"]})
    row.status, row.advancing_to, row.last_error, row.steps = (
        Status.ADVANCING.value, frozen_time, None, 0)
    audit.record(session, actor, "test_clock.advance", resource_type="test_clock",
                 resource_id=row.id, meta={"from": row.frozen_time.isoformat(),
                                           "to": frozen_time.isoformat()})
    jobs.enqueue(ADVANCE_JOB, str(row.id), frozen_time.isoformat(),
                 job_id=f"test-clock-{row.id}-{int(frozen_time.timestamp())}")
    return _view(session, row)


def delete(session: Session, clock: Clock, settings: Settings, actor: Actor, caller: User,
           clock_id: uuid.UUID) -> None:
    """Retire the clock: its customers are deactivated but keep their clock, so no production
    job ever bills them; their rows stay, because the books keep every order and invoice."""
    _enabled(settings, caller)
    row = _get(session, clock_id, lock=True)
    if row.status == Status.ADVANCING.value:
        raise Conflict("wait for the advance to finish", code="test_clock_advancing")
    row.deleted_at = clock.now()
    session.execute(update(User).where(User.test_clock_id == row.id).values(is_active=False))
    audit.record(session, actor, "test_clock.delete", resource_type="test_clock",
                 resource_id=row.id)
