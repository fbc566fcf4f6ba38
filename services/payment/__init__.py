"""The ECPay-facing payment service: checkout forms, notifications (webhooks), return, invoices."""
