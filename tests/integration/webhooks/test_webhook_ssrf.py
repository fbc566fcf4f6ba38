"""Private, loopback and link-local targets are refused when saved and again on the address
resolved at delivery, and the request goes to that checked address (no DNS rebinding)."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.db.models import User, WebhookDelivery
from services.core.ports import RecordingJobs
from services.core.usecases.audit import Actor
from services.core.usecases.webhooks import delivery, endpoints, events, targets
from tests.integration.webhooks.webhook_receiver import Receiver

REAL_GETADDRINFO = socket.getaddrinfo


def _resolving(monkeypatch: pytest.MonkeyPatch, name: str, address: str) -> None:
    def fake(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == name:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, args[0] or 80))]
        return REAL_GETADDRINFO(host, *args, **kwargs)
    monkeypatch.setattr(socket, "getaddrinfo", fake)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/hook", "http://127.8.9.10:8443/hook", "http://10.0.0.5/hook",
    "http://10.255.1.1/hook", "http://169.254.169.254/latest/meta-data",
    "http://[::1]:8080/hook", "http://[fe80::1]/hook", "http://[::ffff:127.0.0.1]/hook",
    "http://192.168.1.1/hook", "http://172.16.0.1/hook", "http://0.0.0.0/hook",
    "http://localhost:8080/hook",
])
def test_private_loopback_and_link_local_targets_are_refused(url: str) -> None:
    with pytest.raises(targets.RefusedTarget):
        targets.resolve(url, allow_private=False)
    assert targets.resolve(url, allow_private=True).address  # the development switch


@pytest.mark.parametrize("url", ["ftp://example.com/x", "http://user:pw@example.com/",
                                 "http://[abc/x", "not a url"])
def test_urls_that_are_not_plain_http_are_refused(url: str) -> None:
    with pytest.raises(targets.RefusedTarget):
        targets.resolve(url, allow_private=True)


def test_a_public_name_is_accepted_and_pinned_to_its_address(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _resolving(monkeypatch, "hooks.example.com", "93.184.216.34")
    target = targets.resolve("https://hooks.example.com/in", allow_private=False)
    assert (target.host, target.port, target.address) == ("hooks.example.com", 443,
                                                          "93.184.216.34")


def test_a_name_that_later_resolves_to_loopback_is_not_delivered_to(
        monkeypatch: pytest.MonkeyPatch, session: Session, clock: FixedClock, staff: User,
        receiver: Receiver) -> None:
    port = receiver.url.split(":")[2].split("/")[0]
    _resolving(monkeypatch, "hooks.example.com", "93.184.216.34")
    made = endpoints.create(session, clock, Actor(user_id=staff.id), staff,
                            url=f"http://hooks.example.com:{port}/hooks/fluxus",
                            event_types=["*"], allow_private=False)
    event = events.record(session, clock.now(), "order.paid", {"order_id": "o"})
    session.commit()
    _resolving(monkeypatch, "hooks.example.com", "127.0.0.1")  # DNS rebinding
    delivery_id = session.scalars(select(WebhookDelivery.id).where(
        WebhookDelivery.event_id == event.id)).one()
    outcome = delivery.deliver(session, clock, RecordingJobs(), delivery_id,
                               allow_private=False)
    session.commit()
    row = session.get_one(WebhookDelivery, delivery_id)
    assert outcome is delivery.Outcome.RETRYING
    assert row.last_error.startswith("refused") and row.http_status is None
    assert receiver.requests == []
    assert made.endpoint.url.startswith("http://hooks.example.com")


def test_with_the_setting_a_loopback_name_is_delivered_to_with_its_host_header(
        monkeypatch: pytest.MonkeyPatch, session: Session, clock: FixedClock, staff: User,
        receiver: Receiver) -> None:
    port = receiver.url.split(":")[2].split("/")[0]
    _resolving(monkeypatch, "hooks.internal.test", "127.0.0.1")
    endpoints.create(session, clock, Actor(user_id=staff.id), staff,
                     url=f"http://hooks.internal.test:{port}/hooks/fluxus",
                     event_types=["order.paid"], allow_private=True)
    event = events.record(session, clock.now(), "order.paid", {"order_id": "o"})
    session.commit()
    delivery_id = session.scalars(select(WebhookDelivery.id).where(
        WebhookDelivery.event_id == event.id)).one()
    assert delivery.deliver(session, clock, RecordingJobs(), delivery_id,
                            allow_private=True) is delivery.Outcome.SUCCEEDED
    [got] = receiver.requests
    assert got.headers["host"] == f"hooks.internal.test:{port}"
