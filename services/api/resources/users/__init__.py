"""The users resource."""
