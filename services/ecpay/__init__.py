"""ECPay (綠界) protocol: CheckMacValue, checkout, notifications, queries, e-invoice AES."""
