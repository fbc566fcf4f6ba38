"""Signing follows the spec's formula, secrets have its shape, and the retry schedule and
Retry-After parsing give the waits the spec describes."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from standardwebhooks import Webhook

from services.core.usecases.webhooks import delivery, signing

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
BODY = '{"test": 2432232314}'
AT = datetime.fromtimestamp(1614265330, UTC)


def test_v1_is_base64_hmac_sha256_of_id_timestamp_and_body() -> None:
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(
        key, f"{MSG_ID}.1614265330.{BODY}".encode(), hashlib.sha256).digest()).decode()
    headers = signing.headers(MSG_ID, AT, BODY, [SECRET])
    assert headers["webhook-signature"] == f"v1,{expected}"
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert headers["webhook-timestamp"] == "1614265330"
    # A moment given in another zone is the same instant.
    taipei = AT.astimezone(datetime.now().astimezone().tzinfo)
    assert signing.headers(MSG_ID, taipei, BODY, [SECRET]) == headers


def test_new_secrets_are_32_random_bytes_the_reference_library_reads() -> None:
    one, two = signing.new_secret(), signing.new_secret()
    assert one != two and one.startswith("whsec_")
    assert len(base64.b64decode(one.removeprefix("whsec_"))) == 32
    Webhook(one)  # parses


@pytest.mark.parametrize("attempts", range(1, len(delivery.SCHEDULE) + 1))
def test_each_wait_is_the_schedule_within_ten_percent(attempts: int) -> None:
    base = delivery.SCHEDULE[attempts - 1]
    waits = {delivery._next_wait(attempts, None) for _ in range(50)}
    assert all(base * 0.9 <= w <= base * 1.1 for w in waits)
    assert len(waits) > 1  # jittered


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
    assert delivery._retry_after(httpx.Response(429, headers={"Retry-After": "90"}), now) == 90
    later = format_datetime(now + timedelta(minutes=10), usegmt=True)
    assert delivery._retry_after(httpx.Response(503, headers={"Retry-After": later}),
                                 now) == 600
    assert delivery._retry_after(httpx.Response(429, headers={"Retry-After": "soon"}),
                                 now) is None
    assert delivery._next_wait(1, 600) >= 600
    assert delivery._next_wait(1, 10 * 86400) <= delivery.MAX_RETRY_AFTER
