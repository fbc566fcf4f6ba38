"""Taiwan e-invoices: recorded with the payment (outbox), issued at ECPay by the worker,
corrected by void or allowance. See docs/einvoices.md."""
