"""Outgoing webhook endpoints, their deliveries and events (staff)."""
