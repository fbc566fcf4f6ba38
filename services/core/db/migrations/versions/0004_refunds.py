"""refunds: card (ECPay DoAction) and manual transfers, with their e-invoice correction

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 04:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None
# Compatible with 0003 code: one new table the previous image never reads; a refund saga
# started by this image waits while an older one runs and resumes when this one is back.
min_compatible_revision = "0003"

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _when(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def upgrade() -> None:
    op.create_table(
        "refunds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=0), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("requested_by", sa.Uuid(), nullable=True),
        sa.Column("cancel_subscription", sa.String(length=16), nullable=False),
        sa.Column("review_id", sa.Uuid(), nullable=True),
        sa.Column("merchant_trade_no", sa.String(length=20), nullable=False),
        sa.Column("trade_no", sa.String(length=20), nullable=False),
        sa.Column("gateway_actions", JSON, nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _when("next_attempt_at"),
        _when("sent_at"),
        _when("completed_at"),
        _when("failed_at"),
        sa.Column("transfer_reference", sa.String(length=100), nullable=True),
        sa.Column("confirmed_by", sa.Uuid(), nullable=True),
        sa.Column("einvoice_status", sa.String(length=16), nullable=False),
        sa.Column("einvoice_result", JSON, nullable=True),
        sa.Column("einvoice_error", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"],
                                name=op.f("fk_refunds_order_id_orders")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_refunds_user_id_users")),
        sa.ForeignKeyConstraint(["requested_by"], ["users.id"],
                                name=op.f("fk_refunds_requested_by_users")),
        sa.ForeignKeyConstraint(["confirmed_by"], ["users.id"],
                                name=op.f("fk_refunds_confirmed_by_users")),
        sa.ForeignKeyConstraint(["review_id"], ["payment_reviews.id"],
                                name=op.f("fk_refunds_review_id_payment_reviews")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint("order_id", "idempotency_key",
                            name="uq_refunds_order_idempotency_key"),
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refunds_order_id"), ["order_id"], unique=False)
        batch_op.create_index("ix_refunds_status_next_attempt", ["status", "next_attempt_at"],
                              unique=False)
        batch_op.create_index("ix_refunds_einvoice_status", ["einvoice_status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index("ix_refunds_einvoice_status")
        batch_op.drop_index("ix_refunds_status_next_attempt")
        batch_op.drop_index(batch_op.f("ix_refunds_order_id"))
    op.drop_table("refunds")
