"""e-invoices, their allowances, customers' invoice preferences

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 03:43:47.719538
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
# Not compatible with 0002 code: the users columns have server defaults, but a sale the
# previous image completed after this ran would get no einvoices row (the backfill covers only
# earlier sales), so no 統一發票 would be issued for it and `fluxus audit books` would fail.
min_compatible_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "einvoices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("relate_number", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column(
            "buyer",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "items",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("sales_amount", sa.Integer(), nullable=False),
        sa.Column("tax_amount", sa.Integer(), nullable=False),
        sa.Column("invoice_no", sa.String(length=10), nullable=True),
        sa.Column("invoice_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("random_number", sa.String(length=4), nullable=False),
        sa.Column("remaining_allowance", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("void_reason", sa.String(length=200), nullable=True),
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
            ["invoice_id"], ["invoices.id"], name=op.f("fk_einvoices_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_einvoices_order_id_orders")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_einvoices_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_einvoices")),
        sa.UniqueConstraint("invoice_id", name=op.f("uq_einvoices_invoice_id")),
        sa.UniqueConstraint("invoice_no", name=op.f("uq_einvoices_invoice_no")),
        sa.UniqueConstraint("order_id", name=op.f("uq_einvoices_order_id")),
        sa.UniqueConstraint("relate_number", name=op.f("uq_einvoices_relate_number")),
    )
    with op.batch_alter_table("einvoices", schema=None) as batch_op:
        batch_op.create_index(
            "ix_einvoices_status_next_attempt", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_einvoices_user_id"), ["user_id"], unique=False)

    op.create_table(
        "einvoice_allowances",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("einvoice_id", sa.Uuid(), nullable=False),
        sa.Column("request_key", sa.String(length=100), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("allowance_no", sa.String(length=20), nullable=True),
        sa.Column("allowance_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
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
            ["einvoice_id"],
            ["einvoices.id"],
            name=op.f("fk_einvoice_allowances_einvoice_id_einvoices"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_einvoice_allowances")),
        sa.UniqueConstraint("allowance_no", name=op.f("uq_einvoice_allowances_allowance_no")),
        sa.UniqueConstraint("request_key", name=op.f("uq_einvoice_allowances_request_key")),
    )
    with op.batch_alter_table("einvoice_allowances", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_einvoice_allowances_einvoice_id"), ["einvoice_id"], unique=False
        )

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "invoice_preference",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("invoice_kind", sa.String(length=16), nullable=False, server_default="cloud")
        )
        batch_op.add_column(
            sa.Column(
                "invoice_carrier_num", sa.String(length=64), nullable=False, server_default=""
            )
        )
        batch_op.add_column(
            sa.Column("invoice_love_code", sa.String(length=7), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("invoice_address", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("invoice_print", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    # Customers who gave a 統編 and company name were buying as a company: keep that.
    op.execute(
        "UPDATE users SET invoice_kind = 'company' WHERE tax_id <> '' AND company_name <> ''"
    )

    # Sales invoiced before e-invoicing existed keep their own receipt only: each gets a row
    # that says why it has no uniform invoice, so the books can demand one for every later sale.
    op.execute(
        """
        INSERT INTO einvoices (id, order_id, invoice_id, user_id, relate_number, status, reason,
                               buyer, items, sales_amount, tax_amount, random_number,
                               remaining_allowance, attempts, last_error, created_at,
                               updated_at)
        SELECT i.id, i.order_id, i.id, i.user_id, o.order_number, 'not_issued',
               'predates_einvoicing', '{}', '{}', CAST(i.total_amount AS INTEGER),
               CAST(i.tax_amount AS INTEGER), '', 0, 0, '', i.issued_at, i.issued_at
        FROM invoices i JOIN orders o ON o.id = i.order_id
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("invoice_print")
        batch_op.drop_column("invoice_address")
        batch_op.drop_column("invoice_love_code")
        batch_op.drop_column("invoice_carrier_num")
        batch_op.drop_column("invoice_kind")

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("invoice_preference")

    with op.batch_alter_table("einvoice_allowances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_einvoice_allowances_einvoice_id"))

    op.drop_table("einvoice_allowances")
    with op.batch_alter_table("einvoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_einvoices_user_id"))
        batch_op.drop_index("ix_einvoices_status_next_attempt")

    op.drop_table("einvoices")
