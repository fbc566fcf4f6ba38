"""Alembic environment and revisions for the Fluxus schema."""
