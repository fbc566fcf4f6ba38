"""The plans resource."""
