"""Test clocks: staff-made frozen times whose customers are billed only when the clock moves."""
