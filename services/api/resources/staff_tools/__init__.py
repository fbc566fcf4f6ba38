"""Staff tools: extend a subscription, resend a payment e-mail, failed jobs."""
