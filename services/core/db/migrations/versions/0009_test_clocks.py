"""per-customer test clocks

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None
# Compatible with 0008 code: a nullable column and a new table. Older code would treat test
# clock customers as ordinary ones — only where FLUXUS_TEST_CLOCKS is on, never production.
min_compatible_revision = "0008"


def _when(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _stamp(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"),
                     nullable=False)


def upgrade() -> None:
    op.create_table(
        "test_clocks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        _when("frozen_time", nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _when("advancing_to"),
        sa.Column("steps", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        _when("deleted_at"),
        _stamp("created_at"),
        _stamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_clocks")),
    )
    # Every periodic selection asks "is this customer on a clock?": the index keeps that a
    # probe of a tiny set (almost every user has NULL here).
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("test_clock_id", sa.Uuid(), nullable=True))
        batch.create_foreign_key(op.f("fk_users_test_clock_id_test_clocks"), "test_clocks",
                                 ["test_clock_id"], ["id"])
        batch.create_index(op.f("ix_users_test_clock_id"), ["test_clock_id"])


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_index(op.f("ix_users_test_clock_id"))
        batch.drop_constraint(op.f("fk_users_test_clock_id_test_clocks"), type_="foreignkey")
        batch.drop_column("test_clock_id")
    op.drop_table("test_clocks")
