"""Refunds of paid orders (staff), and an order's refunds for its customer."""
