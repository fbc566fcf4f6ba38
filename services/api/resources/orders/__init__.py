"""The orders resource."""
