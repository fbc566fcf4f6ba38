"""The sweeper re-enqueues stored notifications nobody processed, but not one that has
failed MAX_ATTEMPTS times: that one waits for a person instead of looping forever."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.db.models import PaymentNotification
from services.core.db.session import session_factory
from services.core.ports import RecordingJobs
from services.core.usecases.payment_notifications import (
    MAX_ATTEMPTS,
    PROCESS_JOB,
    Kind,
    receive_notification,
    sweep_unprocessed,
)
from tests.integration.payment.conftest import NOW, STAGE, return_fields, seed

pytestmark = pytest.mark.integration


def _stored(engine: Engine, trade_no: str, attempts: int) -> uuid.UUID:
    world = seed(engine)
    with session_factory(engine)() as session, session.begin():
        receipt = receive_notification(
            session, FixedClock(NOW), RecordingJobs(), kind=Kind.RETURN,
            form=return_fields(world, trade_no=trade_no), credentials=STAGE,
        )
        assert receipt.verdict == "accepted", receipt
        session.get_one(PaymentNotification, receipt.notification_id).attempts = attempts
    return receipt.notification_id


def test_a_notification_that_failed_max_attempts_times_is_not_enqueued_again(
    engine: Engine, session: Session
) -> None:
    retried = _stored(engine, "2611261200000001", MAX_ATTEMPTS - 1)
    given_up = _stored(engine, "2611261200000002", MAX_ATTEMPTS)
    jobs = RecordingJobs()

    swept = sweep_unprocessed(session, FixedClock(NOW + timedelta(minutes=5)), jobs)

    assert swept == [retried]
    assert jobs.pending == [(PROCESS_JOB, (str(retried),), f"notification-{retried}")]
    assert given_up not in swept
