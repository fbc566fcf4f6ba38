"""The invoices resource."""
