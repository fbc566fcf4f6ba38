"""Reusable test support (not tests themselves)."""
