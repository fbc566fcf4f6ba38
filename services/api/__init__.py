"""The public REST API: auth, users, plans, subscriptions, orders, invoices, audit log."""
