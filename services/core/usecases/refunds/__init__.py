"""Refunds: staff ask (requests), card money goes back through ECPay's DoAction (card),
bank transfers are owed until confirmed (requests), then the e-invoice is corrected
(einvoice_step) and the customer told (settle)."""
