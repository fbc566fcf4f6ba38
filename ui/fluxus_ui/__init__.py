"""Fluxus dashboard: a Panel app for customers and staff that talks to the API only."""
