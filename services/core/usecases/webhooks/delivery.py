"""Sending one event to one endpoint, signed, with the Standard Webhooks retry schedule.

One row per (event, endpoint) holds the attempts; every attempt sends the event's id as
`webhook-id`, so a receiver that dedupes on it sees each event once even when a worker dies
after sending and before committing (the row stays due and is sent again by the sweep)."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Protocol

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import Event, User, WebhookDelivery, WebhookEndpoint
from services.core.ports import Jobs
from services.core.usecases import audit
from services.core.usecases.emails import EmailRequest, queue_emails
from services.core.usecases.webhooks import signing, targets
from services.core.usecases.webhooks.endpoints import seal_legacy_secrets, signing_secrets
from services.core.usecases.webhooks.events import DELIVER_JOB, deliver_job_id

# Waits before each retry (the spec's example): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h,
# 20 h, 24 h — ten attempts over about three days, then the endpoint is disabled.
SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
JITTER = 0.1  # ± this fraction of each wait
MAX_RETRY_AFTER = 86400
TIMEOUT_SECONDS = 15.0
EXCERPT = 500


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    RETRYING = "retrying"
    FAILED = "failed"  # retries exhausted or target refused
    DISABLED = "disabled"  # 410 Gone (or the endpoint was already disabled)
    NOT_DUE = "not_due"  # already done, not due yet, or another worker holds it


class Sender(Protocol):
    def __call__(self, target: targets.Target, path: str, body: bytes,
                 headers: dict[str, str], timeout: float) -> httpx.Response: ...


def send_pinned(target: targets.Target, path: str, body: bytes, headers: dict[str, str],
                timeout: float) -> httpx.Response:
    """POST to the checked address itself (never re-resolving the name), no redirects."""
    host = f"[{target.address}]" if ":" in target.address else target.address
    default = 443 if target.scheme == "https" else 80
    authority = target.host if target.port == default else f"{target.host}:{target.port}"
    url = f"{target.scheme}://{host}:{target.port}{path}"
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        request = client.build_request("POST", url, content=body,
                                       headers={**headers, "host": authority},
                                       extensions=extensions)
        return client.send(request)


@dataclass(frozen=True)
class Attempt:
    http_status: int | None
    error: str
    excerpt: str
    retry_after: float | None


def _retry_after(response: httpx.Response, now: datetime) -> float | None:
    raw = response.headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(raw) - now).total_seconds())
    except (TypeError, ValueError):
        return None


def body_of(event: Event) -> str:
    """The payload, `{type, timestamp, data}`, as sent (and signed) byte for byte."""
    return json.dumps({"type": event.type, "timestamp": event.occurred_at.isoformat(),
                       "data": event.data}, separators=(",", ":"), ensure_ascii=False)


def _path(url: str) -> str:
    parts = httpx.URL(url)
    return parts.raw_path.decode() or "/"


def _attempt(endpoint: WebhookEndpoint, event: Event, now: datetime, allow_private: bool,
             sender: Sender, timeout: float) -> Attempt:
    try:
        target = targets.resolve(endpoint.url, allow_private=allow_private)
    except targets.RefusedTarget as exc:
        return Attempt(None, f"refused: {exc.message}"[:EXCERPT], "", None)
    body = body_of(event)
    headers = signing.headers(event.id, now, body, signing_secrets(endpoint, now))
    try:
        response = sender(target, _path(endpoint.url), body.encode(), headers, timeout)
    except httpx.TimeoutException:
        return Attempt(None, f"timed out after {timeout:g} s", "", None)
    except httpx.HTTPError as exc:
        return Attempt(None, f"{type(exc).__name__}: {exc}"[:EXCERPT], "", None)
    return Attempt(response.status_code, "", response.text[:EXCERPT],
                   _retry_after(response, now))


def _lock(session: Session, delivery_id: uuid.UUID) -> WebhookDelivery | None:
    return session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
        .with_for_update(skip_locked=True)
    ).first()


def _next_wait(attempts: int, retry_after: float | None) -> float:
    wait = SCHEDULE[attempts - 1] * (1 + random.uniform(-JITTER, JITTER))  # noqa: S311 - jitter
    if retry_after is not None:
        wait = max(wait, min(retry_after, MAX_RETRY_AFTER))
    return wait


def deliver(session: Session, clock: Clock, jobs: Jobs, delivery_id: uuid.UUID, *,
            allow_private: bool, sender: Sender = send_pinned,
            timeout: float = TIMEOUT_SECONDS) -> Outcome:
    """One attempt at a due delivery, in the caller's transaction."""
    delivery = _lock(session, delivery_id)
    now = clock.now()
    if delivery is None or delivery.status != "pending" or (
            delivery.next_attempt_at is not None and delivery.next_attempt_at > now):
        return Outcome.NOT_DUE
    endpoint = session.get_one(WebhookEndpoint, delivery.endpoint_id)
    if endpoint.disabled_at is not None:
        delivery.status, delivery.last_error = "failed", "endpoint disabled"
        delivery.next_attempt_at = None
        return Outcome.DISABLED
    event = session.get_one(Event, delivery.event_id)
    seal_legacy_secrets(session, endpoint)
    result = _attempt(endpoint, event, now, allow_private, sender, timeout)
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.http_status, delivery.last_error = result.http_status, result.error
    delivery.response_excerpt = result.excerpt
    if result.http_status is not None and 200 <= result.http_status < 300:
        delivery.status, delivery.next_attempt_at = "succeeded", None
        delivery.first_failed_at = None
        return Outcome.SUCCEEDED
    delivery.first_failed_at = delivery.first_failed_at or now
    if result.http_status == 410:
        delivery.status, delivery.next_attempt_at = "failed", None
        disable(session, clock, jobs, endpoint, "the endpoint answered 410 Gone")
        return Outcome.DISABLED
    if delivery.attempts > len(SCHEDULE):
        delivery.status, delivery.next_attempt_at = "failed", None
        disable(session, clock, jobs, endpoint,
                f"{delivery.attempts} attempts at one event failed over three days")
        return Outcome.FAILED
    delivery.next_attempt_at = now + timedelta(
        seconds=_next_wait(delivery.attempts, result.retry_after))
    return Outcome.RETRYING


def disable(session: Session, clock: Clock, jobs: Jobs, endpoint: WebhookEndpoint,
            why: str) -> None:
    """Stop sending to `endpoint` and tell every active staff member by e-mail."""
    if endpoint.disabled_at is not None:
        return
    endpoint.disabled_at, endpoint.disabled_reason = clock.now(), why[:200]
    audit.record(session, audit.SYSTEM, "webhook_endpoint.disabled",
                 resource_type="webhook_endpoint", resource_id=endpoint.id, description=why)
    staff = session.scalars(select(User).where(User.is_staff.is_(True),
                                               User.is_active.is_(True))).all()
    queue_emails(session, jobs, [
        EmailRequest("webhook_endpoint_disabled", user.id, user.email,
                     f"webhook_disabled:{endpoint.id}:{endpoint.disabled_at.isoformat()}:{user.id}",
                     {"endpoint_url": endpoint.url, "reason": why[:200]})
        for user in staff
    ])


def due(session: Session, clock: Clock, limit: int = 500) -> list[tuple[uuid.UUID, int]]:
    """Pending deliveries whose time has come (retries, lost jobs, a killed worker)."""
    rows = session.execute(
        select(WebhookDelivery.id, WebhookDelivery.attempts)
        .where(WebhookDelivery.status == "pending",
               WebhookDelivery.next_attempt_at <= clock.now())
        .order_by(WebhookDelivery.next_attempt_at).limit(limit)
    ).all()
    return [(row.id, row.attempts) for row in rows]


def enqueue_due(session: Session, clock: Clock, jobs: Jobs, round_: str) -> int:
    found = due(session, clock)
    for delivery_id, attempts in found:
        jobs.enqueue(DELIVER_JOB, str(delivery_id),
                     job_id=f"{deliver_job_id(delivery_id, attempts)}-{round_}")
    return len(found)
