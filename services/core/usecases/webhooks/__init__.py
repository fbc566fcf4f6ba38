"""Outgoing webhooks (Standard Webhooks 1.0): the events outbox, endpoints and deliveries."""
