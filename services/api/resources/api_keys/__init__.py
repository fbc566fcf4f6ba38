"""API keys for servers."""
