"""subscription extensions: free periods staff gave on a customer's behalf

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 07:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None
# Compatible with 0011 code: a new table only. The previous image neither writes nor reads
# extensions (its books check would report an extended subscription, nothing more).
min_compatible_revision = "0011"


def _when(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _fk(column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"],
                                   name=op.f(f"fk_subscription_extensions_{column}_{target}"))


def upgrade() -> None:
    op.create_table(
        "subscription_extensions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        _when("previous_end_date"),
        _when("new_end_date"),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        _fk("subscription_id", "subscriptions"),
        _fk("user_id", "users"),
        _fk("created_by", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_extensions")),
        sa.UniqueConstraint("subscription_id", "idempotency_key",
                            name="uq_subscription_extensions_subscription_idempotency_key"),
    )
    op.create_index("ix_subscription_extensions_subscription_id", "subscription_extensions",
                    ["subscription_id"])


def downgrade() -> None:
    op.drop_index("ix_subscription_extensions_subscription_id",
                  table_name="subscription_extensions")
    op.drop_table("subscription_extensions")
