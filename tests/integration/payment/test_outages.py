"""Backing services down: Redis down still acknowledges (the sweeper catches up); PostgreSQL
down never does, so ECPay keeps re-sending."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from redis import Redis
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.config import Settings
from services.worker import context
from services.worker.jobs.payments import sweep_notifications
from tests.integration.payment.conftest import (
    NOW,
    Served,
    World,
    closed_port,
    notifications,
    order_of,
    queued_ids,
    return_fields,
    totals,
)

pytestmark = pytest.mark.integration

CALLBACK = "/payment/ecpay/callback/"


def test_with_redis_down_the_notification_is_stored_acknowledged_and_swept_later(
    serve: Callable[..., Served], settings: Settings, world: World, session: Session,
    redis: Redis, worker: Callable[..., None],
) -> None:
    no_redis = replace(settings, redis_url=f"redis://127.0.0.1:{closed_port()}/0")
    payment = serve(no_redis, FixedClock(NOW))

    response = httpx.post(payment.url + CALLBACK, data=return_fields(world), timeout=30)

    assert response.text == "1|OK"
    [stored] = notifications(session)
    assert (stored.verdict, stored.processed_at) == ("accepted", None)
    assert queued_ids(redis, "payments") == []  # the enqueue was lost with Redis

    # Redis is back (the real one). A sweep before the minute has passed leaves it alone.
    context.use(settings, FixedClock(NOW + timedelta(seconds=30)))
    assert sweep_notifications() == 0
    context.use(settings, FixedClock(NOW + timedelta(minutes=2)))
    assert sweep_notifications() == 1
    assert queued_ids(redis, "payments") == [f"notification-{stored.id}"]

    worker()
    assert totals(session, world) == (1, 1, 1)
    context.use(settings, FixedClock(NOW + timedelta(minutes=4)))
    assert sweep_notifications() == 0  # processed: never swept again


def test_with_postgresql_down_the_answer_is_never_ok(
    serve: Callable[..., Served], settings: Settings, world: World, session: Session,
    redis: Redis,
) -> None:
    dead = f"postgresql+psycopg2://postgres@127.0.0.1:{closed_port()}/fluxus"
    payment = serve(replace(settings, database_url=dead, db_connect_timeout=2))

    for form in (return_fields(world), {**return_fields(world), "CheckMacValue": "0" * 64}):
        response = httpx.post(payment.url + CALLBACK, data=form, timeout=30)
        assert response.status_code == 503
        assert response.text != "1|OK"
        assert response.json()["code"] == "service_unavailable"

    assert queued_ids(redis, "payments") == []
    assert order_of(session, world).status == "pending"


def test_readiness_reports_the_missing_service(
    serve: Callable[..., Served], settings: Settings
) -> None:
    healthy = serve(settings)
    assert httpx.get(healthy.url + "/payment/health/ready").json()["status"] == "ok"

    no_redis = serve(replace(settings, redis_url=f"redis://127.0.0.1:{closed_port()}/0"))
    assert httpx.get(no_redis.url + "/payment/health/live").status_code == 200
    # Still ready without Redis (callbacks are stored and swept later; every pod shares that
    # Redis, so failing readiness would drop them all), but it says what is missing.
    response = httpx.get(no_redis.url + "/payment/health/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded", "checks": {"database": "ok", "redis": "unavailable"},
    }
