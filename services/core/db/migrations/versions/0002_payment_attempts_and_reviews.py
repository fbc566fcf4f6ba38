"""payment attempts, card agreements, period charges, reviews

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 00:33:01.663296
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None
# Not compatible with 0001 code, though it only adds: the backfill turns each live 定期定額
# agreement (subscriptions.period_agreement_no) into a card_agreements row, and this code
# cancels agreements at ECPay only through those rows. One the previous image started after
# this ran would have no row, so cancelling it later would never stop ECPay charging.
min_compatible_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "card_agreements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("merchant_trade_no", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("period_type", sa.String(length=1), nullable=False),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("exec_times", sa.Integer(), nullable=False),
        sa.Column("period_amount", sa.Integer(), nullable=False),
        sa.Column("first_charged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_period_index", sa.Integer(), nullable=False),
        sa.Column("cancel_reason", sa.String(length=200), nullable=True),
        sa.Column("cancel_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_card_agreements_subscription_id_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_agreements")),
        sa.UniqueConstraint("merchant_trade_no", name=op.f("uq_card_agreements_merchant_trade_no")),
    )
    with op.batch_alter_table("card_agreements", schema=None) as batch_op:
        batch_op.create_index(
            "ix_card_agreements_status_requested", ["status", "cancel_requested_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_card_agreements_subscription_id"), ["subscription_id"], unique=False
        )

    op.create_table(
        "payment_attempts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("merchant_trade_no", sa.String(length=20), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "periodic",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("trade_no", sa.String(length=20), nullable=True),
        sa.Column("failure_reason", sa.String(length=200), nullable=True),
        sa.Column("payable_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_payment_attempts_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_attempts")),
        sa.UniqueConstraint(
            "merchant_trade_no", name=op.f("uq_payment_attempts_merchant_trade_no")
        ),
    )
    with op.batch_alter_table("payment_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_attempts_order_id"), ["order_id"], unique=False
        )
        batch_op.create_index(
            "uq_payment_attempts_one_paid_per_order",
            ["order_id"],
            unique=True,
            postgresql_where=sa.text("status = 'paid'"),
            sqlite_where=sa.text("status = 'paid'"),
        )

    op.create_table(
        "payment_reviews",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("source_key", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=0), nullable=True),
        sa.Column("merchant_trade_no", sa.String(length=64), nullable=False),
        sa.Column("gateway_trade_no", sa.String(length=30), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("subscription_id", sa.Uuid(), nullable=True),
        sa.Column("notification_id", sa.Uuid(), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.Uuid(), nullable=True),
        sa.Column("resolution_note", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["payment_notifications.id"],
            name=op.f("fk_payment_reviews_notification_id_payment_notifications"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_payment_reviews_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by"], ["users.id"], name=op.f("fk_payment_reviews_resolved_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_payment_reviews_subscription_id_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_reviews")),
        sa.UniqueConstraint("source_key", name=op.f("uq_payment_reviews_source_key")),
    )
    with op.batch_alter_table("payment_reviews", schema=None) as batch_op:
        batch_op.create_index(
            "ix_payment_reviews_status_arrived", ["status", "arrived_at"], unique=False
        )

    op.create_table(
        "period_charges",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agreement_id", sa.Uuid(), nullable=False),
        sa.Column("notification_id", sa.Uuid(), nullable=True),
        sa.Column("gwsr", sa.String(length=30), nullable=False),
        sa.Column("process_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=0), nullable=False),
        sa.Column("rtn_code", sa.String(length=10), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("total_success_times", sa.Integer(), nullable=True),
        sa.Column("period_index", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["card_agreements.id"],
            name=op.f("fk_period_charges_agreement_id_card_agreements"),
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["payment_notifications.id"],
            name=op.f("fk_period_charges_notification_id_payment_notifications"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_period_charges_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_period_charges")),
        sa.UniqueConstraint("notification_id", name=op.f("uq_period_charges_notification_id")),
    )
    with op.batch_alter_table("period_charges", schema=None) as batch_op:
        batch_op.create_index(
            "ix_period_charges_agreement_gwsr", ["agreement_id", "gwsr"], unique=False
        )

    with op.batch_alter_table("payment_notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempt_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_payment_notifications_attempt_id_payment_attempts"),
            "payment_attempts",
            ["attempt_id"],
            ["id"],
        )

    _backfill()


def _backfill() -> None:
    """Every existing order was one checkout: its own number becomes its first attempt, and
    a live 定期定額 agreement on a subscription becomes an active agreement row.

    PostgreSQL only: the SQLite development database is made fresh by `fluxus dev`.
    """
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        INSERT INTO payment_attempts (id, order_id, merchant_trade_no, method, status, periodic,
                                      trade_no, failure_reason, created_at, updated_at)
        SELECT gen_random_uuid(), o.id, o.order_number, o.payment_method,
               CASE o.status WHEN 'completed' THEN 'paid' WHEN 'refunded' THEN 'paid'
                             WHEN 'failed' THEN 'failed' WHEN 'cancelled' THEN 'expired'
                             ELSE 'open' END,
               o.payment_info -> 'periodic', o.ecpay_trade_no, o.failure_reason,
               o.created_at, o.updated_at
        FROM orders o
        """
    )
    op.execute(
        """
        INSERT INTO card_agreements (id, subscription_id, merchant_trade_no, status, period_type,
                                     frequency, exec_times, period_amount, first_charged_at,
                                     first_period_index, cancel_attempts, created_at, updated_at)
        SELECT gen_random_uuid(), s.id, s.period_agreement_no, 'active',
               COALESCE(o.payment_info -> 'periodic' ->> 'period_type', 'M'),
               COALESCE((o.payment_info -> 'periodic' ->> 'frequency')::int, 1),
               COALESCE((o.payment_info -> 'periodic' ->> 'exec_times')::int, 99),
               o.amount::int, COALESCE(o.paid_at, s.anchor_date, o.created_at), 0, 0, now(), now()
        FROM subscriptions s JOIN orders o ON o.order_number = s.period_agreement_no
        WHERE s.period_agreement_no IS NOT NULL
        """
    )
    op.execute(
        """
        UPDATE payment_notifications n SET attempt_id = a.id
        FROM payment_attempts a WHERE a.merchant_trade_no = n.merchant_trade_no
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("payment_notifications", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_payment_notifications_attempt_id_payment_attempts"), type_="foreignkey"
        )
        batch_op.drop_column("attempt_id")

    with op.batch_alter_table("period_charges", schema=None) as batch_op:
        batch_op.drop_index("ix_period_charges_agreement_gwsr")

    op.drop_table("period_charges")
    with op.batch_alter_table("payment_reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_reviews_status_arrived")

    op.drop_table("payment_reviews")
    with op.batch_alter_table("payment_attempts", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_payment_attempts_one_paid_per_order",
            postgresql_where=sa.text("status = 'paid'"),
            sqlite_where=sa.text("status = 'paid'"),
        )
        batch_op.drop_index(batch_op.f("ix_payment_attempts_order_id"))

    op.drop_table("payment_attempts")
    with op.batch_alter_table("card_agreements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_card_agreements_subscription_id"))
        batch_op.drop_index("ix_card_agreements_status_requested")

    op.drop_table("card_agreements")
