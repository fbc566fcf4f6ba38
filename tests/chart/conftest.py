"""Fixtures of the chart tests (defined in tests/chart/helpers.py)."""

from tests.chart.helpers import render, tools

__all__ = ["render", "tools"]
