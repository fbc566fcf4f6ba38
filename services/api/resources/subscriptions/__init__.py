"""The subscriptions resource."""
