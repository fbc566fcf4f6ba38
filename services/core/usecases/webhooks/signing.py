"""Standard Webhooks 1.0 signatures (v1, HMAC-SHA256) through the reference implementation."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix the spec gives secrets, not a secret
SECRET_BYTES = 32  # the spec asks for 24–64 random bytes


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def headers(event_id: str, sent_at: datetime, body: str, secrets_: list[str]) -> dict[str, str]:
    """The three webhook headers; one `v1,` signature per secret (two during a rotation)."""
    sent_at = sent_at.astimezone(UTC)  # the library reads the wall time as UTC
    signatures = [Webhook(secret).sign(event_id, sent_at, body) for secret in secrets_]
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": " ".join(signatures),
        "content-type": "application/json",
    }
