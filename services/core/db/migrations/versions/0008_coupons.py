"""coupons, their redemptions and the discount on orders

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None
# Needs its own code: older code would renew a discounted subscription at full price and its
# books would not know discounts.
min_compatible_revision = "0008"

MONEY = sa.Numeric(12, 0)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _stamp(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"),
                     nullable=False)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"],
                                   name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    op.create_table(
        "coupons",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("percent_off", sa.Integer(), nullable=True),
        sa.Column("amount_off", MONEY, nullable=True),
        sa.Column("duration", sa.String(length=10), nullable=False),
        sa.Column("duration_periods", sa.Integer(), nullable=True),
        sa.Column("max_redemptions", sa.Integer(), nullable=True),
        sa.Column("times_redeemed", sa.Integer(), nullable=False),
        sa.Column("redeem_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("plan_ids", JSON, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        _stamp("created_at"),
        _stamp("updated_at"),
        _fk("coupons", "created_by", "users"),
        sa.CheckConstraint("max_redemptions IS NULL OR times_redeemed <= max_redemptions",
                           name=op.f("ck_coupons_within_limit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupons")),
        sa.UniqueConstraint("code", name=op.f("uq_coupons_code")),
    )
    op.create_table(
        "coupon_redemptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("coupon_id", sa.Uuid(), nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("periods_used", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("applied_by", sa.Uuid(), nullable=True),
        _stamp("created_at"),
        _fk("coupon_redemptions", "coupon_id", "coupons"),
        _fk("coupon_redemptions", "subscription_id", "subscriptions"),
        _fk("coupon_redemptions", "user_id", "users"),
        _fk("coupon_redemptions", "applied_by", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_redemptions")),
        sa.UniqueConstraint("subscription_id", name=op.f("uq_coupon_redemptions_subscription_id")),
    )
    op.create_index("ix_coupon_redemptions_coupon_id", "coupon_redemptions", ["coupon_id"])
    # Batch mode: SQLite (the development default) cannot add a foreign key in place.
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("coupon_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("discount", MONEY, server_default=sa.text("0"),
                                      nullable=False))
        batch_op.add_column(sa.Column("list_amount", MONEY, nullable=True))
        batch_op.create_foreign_key(op.f("fk_orders_coupon_id_coupons"), "coupons",
                                    ["coupon_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_orders_coupon_id_coupons"), type_="foreignkey")
        batch_op.drop_column("list_amount")
        batch_op.drop_column("discount")
        batch_op.drop_column("coupon_id")
    op.drop_index("ix_coupon_redemptions_coupon_id", table_name="coupon_redemptions")
    op.drop_table("coupon_redemptions")
    op.drop_table("coupons")
