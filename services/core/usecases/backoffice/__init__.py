"""Staff back office: find a customer, read their whole history, resend, export for accountants."""
