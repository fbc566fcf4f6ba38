"""Staff back office: one customer's whole history, and resending their invoice e-mails."""
