"""API keys for servers, users.external_id, webhook endpoint secrets encrypted at rest

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None
# Needs its own code: older code would sign webhooks with an encrypted secret's text
# (fluxus-enc:v1:…) as the key, and receivers would refuse every delivery.
min_compatible_revision = "0007"

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _when(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=20), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", JSON, nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        _when("last_used_at"),
        _when("revoked_at"),
        sa.Column("revoked_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"],
                                name=op.f("fk_api_keys_created_by_users")),
        sa.ForeignKeyConstraint(["revoked_by"], ["users.id"],
                                name=op.f("fk_api_keys_revoked_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    # The entitlements lookup is one query: users by id (primary key) or by external_id (this
    # unique index), joined to their live subscriptions through the existing
    # ix_subscriptions_user_status (user_id, status) and to plans by primary key. No further
    # index is added: one on subscriptions(user_id, status) already answers the
    # "status IN (trial, active, past_due)" probe. NULLs stay distinct (PostgreSQL and
    # SQLite), so any number of customers can be unlinked.
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("external_id", sa.String(length=255), nullable=True))
        batch.create_unique_constraint(op.f("uq_users_external_id"), ["external_id"])
    # Webhook signing secrets are now stored encrypted (`fluxus-enc:v1:<Fernet token>`, up to
    # ~180 characters). Existing plain `whsec_…` rows are NOT encrypted here: the migration
    # Job gets only the database URL (services.core.config.COMPONENT_CREDENTIALS["db"]), never
    # FLUXUS_DATA_ENCRYPTION_KEY, and handing it the key for one upgrade would widen what that
    # Job can read for good. The versioned prefix tells the two apart instead: a value without
    # it is read as plaintext, sealed the first time the endpoint delivers (a compare-and-set,
    # so a concurrent rotation wins), and `fluxus keys rotate` seals every one at once.
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.alter_column("secret", existing_type=sa.String(length=100),
                           type_=sa.String(length=255), existing_nullable=False)
        batch.alter_column("previous_secret", existing_type=sa.String(length=100),
                           type_=sa.String(length=255), existing_nullable=True)


def downgrade() -> None:
    # Sealed secrets cannot be opened here (no key) and do not fit the old width: on
    # PostgreSQL narrowing fails while any is stored, rather than cutting them; the previous
    # image could not have read them anyway.
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.alter_column("previous_secret", existing_type=sa.String(length=255),
                           type_=sa.String(length=100), existing_nullable=True)
        batch.alter_column("secret", existing_type=sa.String(length=255),
                           type_=sa.String(length=100), existing_nullable=False)
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("uq_users_external_id"), type_="unique")
        batch.drop_column("external_id")
    op.drop_table("api_keys")
