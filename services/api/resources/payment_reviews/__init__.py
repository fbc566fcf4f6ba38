"""The payment_reviews resource."""
