"""Plan changes: preview and apply an upgrade or downgrade, and what follows (#17)."""
