"""The coupons resource."""
