"""The audit_logs resource."""
