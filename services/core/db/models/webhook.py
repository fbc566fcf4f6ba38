"""Outgoing webhooks: the events outbox, the endpoints staff register and one delivery per
(event, endpoint)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.core.crypto import SealedText
from services.core.db.base import Base, JsonDoc, created_at, updated_at, uuid_pk


class Event(Base):
    """Something that happened, written in the transaction of the change itself (outbox)."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_occurred_at", "occurred_at"),)

    # `evt_` + 32 hex: the `webhook-id` receivers dedupe on (no `.`, per the spec).
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime]
    data: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    created_at: Mapped[datetime] = created_at()


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[uuid.UUID] = uuid_pk()
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    # The event types sent here; ["*"] means every type.
    event_types: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    # Secrets are `whsec_` + base64 of 32 random bytes, shown once at creation/rotation, and
    # encrypted at rest with the data key (rows from before 0007 are read plain until rewritten).
    secret: Mapped[str] = mapped_column(SealedText(255))
    previous_secret: Mapped[str | None] = mapped_column(SealedText(255))
    previous_secret_expires_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    @property
    def enabled(self) -> bool:
        return self.disabled_at is None


class WebhookDelivery(Base):
    """One event to one endpoint; retries reuse this row (and the event's `webhook-id`)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id", name="uq_webhook_deliveries_event_endpoint"),
        Index("ix_webhook_deliveries_status_next_attempt", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    event_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("events.id", ondelete="CASCADE")
    )
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    # pending → succeeded | failed (retries exhausted, endpoint disabled, or refused target)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    first_failed_at: Mapped[datetime | None]
    http_status: Mapped[int | None]
    last_error: Mapped[str] = mapped_column(String(500), default="")
    response_excerpt: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    event: Mapped[Event] = relationship(viewonly=True)  # the log shows its type
