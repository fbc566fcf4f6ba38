"""What a SaaS's own backend uses: API keys, external ids and entitlements."""
