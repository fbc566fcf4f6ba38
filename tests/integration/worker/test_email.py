"""E-mail jobs against a real SMTP server: once per event, retried after a failure."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import EmailDelivery
from services.core.ports import RecordingJobs
from services.core.usecases.emails import EmailRequest, queue_email, queue_emails
from services.worker import context
from services.worker.jobs.periodic import sweep_email_deliveries
from services.worker.queues import RQJobs, enqueue_now, redis_connection
from tests.integration.worker.conftest import Inbox, body, drain_until, run_burst
from tests.support.factories import make_user

pytestmark = pytest.mark.integration


def _queue(session: Session, settings: Settings, jobs: RQJobs | RecordingJobs, **user: str):
    person = make_user(session, **user)
    delivery_id = queue_email(
        session, jobs, template="welcome", user=person, event_key=f"welcome:{person.id}"
    )
    session.commit()
    jobs.flush()
    return delivery_id


def test_duplicate_enqueues_send_one_message(
    session: Session, wsettings: Settings, smtp: tuple[Inbox, int]
) -> None:
    inbox, _port = smtp
    jobs = RQJobs(redis_connection(wsettings))
    delivery_id = _queue(session, wsettings, jobs, first_name="<script>x</script>", language="en")
    connection = redis_connection(wsettings)
    for n in range(3):  # duplicates that slip past the job-id dedupe
        enqueue_now(connection, "send_email", str(delivery_id), job_id=f"dup-{n}")

    run_burst(wsettings)

    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["Subject"] == "Welcome to 流光科技 Fluxus Ltd."
    html = body(message, "html")
    text = body(message, "plain")
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>" not in html
    assert "Hello <script>x</script>," in text
    session.expire_all()
    row = session.get_one(EmailDelivery, delivery_id)
    assert (row.status, row.attempts) == ("sent", 1)


def test_smtp_failure_is_retried_until_sent(
    session: Session, wsettings: Settings, smtp: tuple[Inbox, int], fast_retries: None
) -> None:
    inbox, _port = smtp
    inbox.refuse_next = 1
    delivery_id = _queue(session, wsettings, RQJobs(redis_connection(wsettings)))

    drain_until(wsettings, lambda: inbox.messages)

    assert len(inbox.messages) == 1
    assert inbox.messages[0]["Subject"] == "歡迎加入 流光科技 Fluxus Ltd."  # zh-TW by default
    session.expire_all()
    row = session.get_one(EmailDelivery, delivery_id)
    assert (row.status, row.attempts) == ("sent", 2)


def test_sweeper_sends_a_delivery_whose_enqueue_was_lost(
    session: Session, wsettings: Settings, smtp: tuple[Inbox, int], clock: FixedClock
) -> None:
    inbox, _port = smtp
    lost = RecordingJobs()  # Redis was down: the row exists, no job does
    delivery_id = _queue(session, wsettings, lost)
    run_burst(wsettings)
    assert inbox.messages == []

    clock.set(context.clock().now() + timedelta(minutes=10))
    assert sweep_email_deliveries() == 1
    run_burst(wsettings)
    assert sweep_email_deliveries() == 0

    assert len(inbox.messages) == 1
    session.expire_all()
    assert session.get_one(EmailDelivery, delivery_id).status == "sent"


def test_a_batch_of_emails_is_one_job_and_sends_each_message_once(
    session: Session, wsettings: Settings, smtp: tuple[Inbox, int]
) -> None:
    inbox, _port = smtp
    people = [make_user(session, language="en") for _ in range(3)]
    jobs = RQJobs(redis_connection(wsettings))
    requests = [
        EmailRequest("welcome", p.id, p.email, f"welcome:{p.id}", {}) for p in people
    ]
    ids = queue_emails(session, jobs, requests)
    session.commit()
    jobs.flush()
    # A second copy of the batch (a retry, a renewer run twice) sends nothing more.
    enqueue_now(redis_connection(wsettings), "send_emails", [str(i) for i in ids],
                job_id="emails-copy")

    run_burst(wsettings)

    assert sorted(m["To"] for m in inbox.messages) == sorted(p.email for p in people)
    session.expire_all()
    rows = [session.get_one(EmailDelivery, i) for i in ids]
    assert [(r.status, r.attempts) for r in rows] == [("sent", 1)] * 3
