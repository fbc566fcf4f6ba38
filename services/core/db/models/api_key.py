"""API keys for servers: a SaaS backend's credential, stored as a hash, with its scopes."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from services.core.db.base import Base, JsonDoc, created_at, uuid_pk


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(100))
    # The key's first characters (`fx_live_` + 8), shown in lists so staff can tell keys
    # apart; the rest exists only in the answer that created it.
    prefix: Mapped[str] = mapped_column(String(20))
    # SHA-256 of the whole key: keys carry 256 random bits, so a plain digest is enough
    # (nothing to guess), and lookup is one indexed equality.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at()
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
