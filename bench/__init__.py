"""Fluxus benchmarks: figures printed beside floors measured in the same run (not tests)."""
