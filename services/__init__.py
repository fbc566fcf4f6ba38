"""Fluxus: subscription billing for Taiwanese SaaS on the ECPay gateway."""
