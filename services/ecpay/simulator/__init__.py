"""A local stand-in for ECPay's stage gateway, for development and end-to-end tests."""
