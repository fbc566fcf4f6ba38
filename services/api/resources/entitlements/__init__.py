"""Customers for a SaaS backend: lookup by external id and entitlements."""
