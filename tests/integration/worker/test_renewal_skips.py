"""Renewals off the anchor's boundaries: a short period back onto the anchor day, and a
subscription that cannot be renewed is skipped (counted, audited, measured), never the batch."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from rq.registry import FailedJobRegistry
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core import metrics
from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import AuditLog, Subscription
from services.core.ports import RecordingJobs
from services.core.usecases import renewals
from services.worker.cli import renew_plan
from services.worker.jobs.renewals import renew_subscriptions
from services.worker.queues import redis_connection
from services.worker.registry import RENEWALS
from tests.integration.worker.conftest import run_burst
from tests.integration.worker.test_renewals import active_sub, renewal_orders, taipei
from tests.support.factories import make_plan, make_subscription, make_user

pytestmark = pytest.mark.integration


def skipped_metric(kind: str) -> float:
    value = REGISTRY.get_sample_value("fluxus_billing_renewals_skipped_total", {"kind": kind})
    return value or 0.0


def due_from(sub: Subscription) -> datetime:
    assert sub.end_date is not None
    return sub.end_date


def skip_audits(session: Session) -> list[AuditLog]:
    session.expire_all()
    query = select(AuditLog).where(AuditLog.action == "renewal_skipped")
    return list(session.scalars(query.order_by(AuditLog.created_at)))


def test_one_bad_subscription_no_longer_fails_the_batch_and_off_boundary_ends_renew(
    session: Session, wsettings: Settings
) -> None:
    plan = make_plan(session)
    on_boundary = active_sub(session, plan, taipei(2027, 1, 10))
    # The subscription from the failed batch: anchored Nov 7 07:31 Taipei, end a day late.
    reported = active_sub(
        session,
        plan,
        datetime(2026, 11, 6, 23, 31, 26, tzinfo=UTC),
        end_date=datetime(2026, 12, 7, 23, 31, 26, tzinfo=UTC),
    )
    extended = active_sub(session, plan, taipei(2027, 1, 10), end_date=taipei(2027, 2, 12))
    month_end = active_sub(session, plan, taipei(2027, 1, 31), end_date=taipei(2027, 2, 15))
    broken = active_sub(session, plan, taipei(2027, 1, 10), end_date=taipei(2027, 1, 5))
    session.commit()
    before = skipped_metric("end_before_anchor")

    found = renew_plan(
        wsettings, FixedClock(taipei(2027, 2, 8)), plan.slug, batch_size=10, lead=timedelta(9)
    )
    run_burst(wsettings)

    assert found == (5, 1)  # all five in one job: the broken one shares the others' batch
    assert FailedJobRegistry(RENEWALS, connection=redis_connection(wsettings)).count == 0
    periods = {
        sub.id: [(o.period_start, o.period_end) for o in renewal_orders(session, sub)]
        for sub in (on_boundary, reported, extended, month_end, broken)
    }
    assert periods == {
        on_boundary.id: [(taipei(2027, 2, 10), taipei(2027, 3, 10))],
        reported.id: [
            (
                datetime(2026, 12, 7, 23, 31, 26, tzinfo=UTC),
                datetime(2027, 1, 6, 23, 31, 26, tzinfo=UTC),
            )
        ],
        extended.id: [(taipei(2027, 2, 12), taipei(2027, 3, 10))],
        month_end.id: [(taipei(2027, 2, 15), taipei(2027, 2, 28))],
        broken.id: [],
    }
    [audited] = skip_audits(session)
    assert (audited.resource_type, audited.resource_id) == ("subscription", str(broken.id))
    assert audited.user_id == broken.user_id
    assert "before the anchor" in audited.description
    assert audited.meta["reason"] == "end_before_anchor"
    assert skipped_metric("end_before_anchor") == before + 1


def test_a_job_counts_audits_and_measures_each_skip_and_audits_it_once(
    session: Session, wsettings: Settings
) -> None:
    monthly = make_plan(session)
    weekly = make_plan(session, billing_cycle="weekly")  # a plan seeded by hand, say
    renewable = active_sub(session, monthly, taipei(2027, 1, 10))
    off_boundary = active_sub(session, monthly, taipei(2027, 1, 10), end_date=taipei(2027, 2, 3))
    unknown_cycle = make_subscription(
        session,
        make_user(session),
        weekly,
        status="active",
        anchor_date=taipei(2027, 1, 10),
        end_date=taipei(2027, 2, 10),
    )
    before_anchor = active_sub(
        session, monthly, taipei(2027, 1, 10), end_date=taipei(2027, 1, 9)
    )
    session.commit()
    missing = uuid.uuid4()
    subs = (renewable, off_boundary, unknown_cycle, before_anchor)
    dues = [(str(sub.id), due_from(sub).isoformat()) for sub in subs]
    dues.append((str(missing), taipei(2027, 2, 10).isoformat()))
    kinds = ("unknown_cycle", "end_before_anchor", "not_found")
    before = {kind: skipped_metric(kind) for kind in kinds}

    first = renew_subscriptions(dues)
    again = renew_subscriptions(dues)

    assert first == {"created": 2, "exists": 0, "skipped": 3}
    assert again == {"created": 0, "exists": 2, "skipped": 3}
    [order] = renewal_orders(session, off_boundary)
    assert (order.period_start, order.period_end) == (taipei(2027, 2, 3), taipei(2027, 2, 10))
    assert renewal_orders(session, unknown_cycle) == renewal_orders(session, before_anchor) == []
    # Both runs are counted and measured; the audit trail says it once per subscription.
    assert {kind: skipped_metric(kind) - before[kind] for kind in kinds} == dict.fromkeys(kinds, 2)
    audited = {row.resource_id: row for row in skip_audits(session)}
    assert set(audited) == {str(unknown_cycle.id), str(before_anchor.id), str(missing)}
    assert "unknown billing cycle 'weekly'" in audited[str(unknown_cycle.id)].description
    assert audited[str(unknown_cycle.id)].user_id == unknown_cycle.user_id
    assert audited[str(missing)].user_id is None


def test_every_skip_reason_is_a_bounded_metric_label() -> None:
    assert {reason.value for reason in renewals.SkipReason} == metrics.RENEWAL_SKIP_KINDS


def test_subscriptions_that_will_not_renew_are_not_found_due_and_get_no_order(
    session: Session, wsettings: Settings
) -> None:
    plan = make_plan(session)
    renewing = active_sub(session, plan, taipei(2027, 1, 10))
    switched_off = active_sub(session, plan, taipei(2027, 1, 10), auto_renew=False)
    leaving = active_sub(session, plan, taipei(2027, 1, 10), cancel_at_period_end=True)
    session.commit()
    now = FixedClock(taipei(2027, 2, 8))

    found = renew_plan(wsettings, now, plan.slug, batch_size=10, lead=timedelta(days=3))
    run_burst(wsettings)

    assert found == (1, 1)  # only the renewing one is handed out
    assert [o.period_start for o in renewal_orders(session, renewing)] == [taipei(2027, 2, 10)]
    assert renewal_orders(session, switched_off) == []
    assert renewal_orders(session, leaving) == []


def test_a_job_for_a_subscription_that_stopped_renewing_creates_no_order(
    session: Session, wsettings: Settings
) -> None:
    # Found due, then the customer switched renewal off before the job ran.
    plan = make_plan(session)
    switched_off = active_sub(session, plan, taipei(2027, 1, 10), auto_renew=False)
    leaving = active_sub(session, plan, taipei(2027, 1, 10), cancel_at_period_end=True)
    session.commit()
    dues = [renewals.DueRenewal(sub.id, due_from(sub)) for sub in (switched_off, leaving)]

    counts = renewals.renew_due(
        session,
        FixedClock(taipei(2027, 2, 8)),
        RecordingJobs(),
        dues,
        dashboard_url="https://app.example.tw",
    )
    session.commit()

    assert (counts.created, counts.skipped, counts.reasons) == (0, 2, {"not_renewable": 2})
    assert renewal_orders(session, switched_off) == []
    assert renewal_orders(session, leaving) == []
