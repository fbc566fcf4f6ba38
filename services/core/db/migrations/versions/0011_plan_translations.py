"""plan names, descriptions and features per language (plans.translations)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None
# Compatible with 0010 code: one column with a server default, which older code neither
# reads nor writes (its plans show the default language only).
min_compatible_revision = "0010"

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    # {"zh-TW": {"name": …, "description": …, "features": […]}}; '{}' for the existing rows,
    # so every reader can rely on an object (a language missing from it falls back).
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("translations", JSON, nullable=False, server_default=sa.text("'{}'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_column("translations")
