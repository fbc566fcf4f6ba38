"""Paying orders: attempts, card agreements, periodic charges and the payment review queue."""
