"""the seed's remaining columns (orders.payment_id, ip_address, notes; invoices.notes, metadata; users.avatar, date_joined)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 07:00:00

Only three of the seed's columns need storage here: orders.notes, invoices.notes and
invoices.metadata (staff annotations) and users.avatar. The others are held already and the
API exposes them under the seed's names: orders.payment_id is ECPay's TradeNo in
orders.ecpay_trade_no, orders.ip_address is orders.client_ip (recorded at creation through
the trusted-proxy aware client_ip), users.date_joined is users.created_at.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None
# Compatible with 0009 code: nullable columns only, which older code neither reads nor writes.
min_compatible_revision = "0009"

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notes", sa.String(length=1000), nullable=True))
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notes", sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column("metadata", JSON, nullable=True))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("avatar", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("avatar")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_column("metadata")
        batch_op.drop_column("notes")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("notes")
