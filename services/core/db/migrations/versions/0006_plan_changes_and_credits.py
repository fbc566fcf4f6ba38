"""plan changes (scheduled or awaiting their proration order) and the customer credit ledger

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 04:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None
# Compatible with 0005 code: new tables only. While the previous image runs, scheduled plan
# changes wait (its renewals bill the current plan) and credit is neither used nor granted.
min_compatible_revision = "0005"

MONEY = sa.Numeric(12, 0)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _when(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _stamp(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"),
                     nullable=False)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"],
                                   name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    op.create_table(
        "plan_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("from_plan_id", sa.Uuid(), nullable=False),
        sa.Column("to_plan_id", sa.Uuid(), nullable=False),
        sa.Column("policy", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        _when("proration_date", nullable=False),
        _when("effective_at", nullable=False),
        sa.Column("credit", MONEY, nullable=False),
        sa.Column("charge", MONEY, nullable=False),
        sa.Column("net", MONEY, nullable=False),
        _when("new_period_start", nullable=False),
        _when("new_period_end", nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("requested_by", sa.Uuid(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.Column("lines", JSON, nullable=False),
        _when("applied_at"),
        _when("cancelled_at"),
        _stamp("created_at"),
        _stamp("updated_at"),
        _fk("plan_changes", "subscription_id", "subscriptions"),
        _fk("plan_changes", "user_id", "users"),
        _fk("plan_changes", "from_plan_id", "plans"),
        _fk("plan_changes", "to_plan_id", "plans"),
        _fk("plan_changes", "order_id", "orders"),
        _fk("plan_changes", "requested_by", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_changes")),
        sa.UniqueConstraint("order_id", name=op.f("uq_plan_changes_order_id")),
        sa.UniqueConstraint("subscription_id", "idempotency_key",
                            name="uq_plan_changes_subscription_idempotency_key"),
    )
    op.create_index("ix_plan_changes_subscription_id", "plan_changes", ["subscription_id"])
    op.create_index("ix_plan_changes_status_effective", "plan_changes",
                    ["status", "effective_at"])
    op.create_table(
        "credit_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("plan_change_id", sa.Uuid(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        _stamp("created_at"),
        _fk("credit_entries", "user_id", "users"),
        _fk("credit_entries", "order_id", "orders"),
        _fk("credit_entries", "plan_change_id", "plan_changes"),
        _fk("credit_entries", "created_by", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_entries")),
        sa.UniqueConstraint("order_id", "kind", name="uq_credit_entries_order_kind"),
        sa.UniqueConstraint("plan_change_id", name="uq_credit_entries_plan_change"),
    )
    op.create_index("ix_credit_entries_user_created", "credit_entries",
                    ["user_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_credit_entries_user_created", table_name="credit_entries")
    op.drop_table("credit_entries")
    op.drop_index("ix_plan_changes_status_effective", table_name="plan_changes")
    op.drop_index("ix_plan_changes_subscription_id", table_name="plan_changes")
    op.drop_table("plan_changes")
