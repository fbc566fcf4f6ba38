"""Which card money of a 定期定額 agreement ECPay's DoAction can give back.

DoAction names a trade by MerchantTradeNo and TradeNo (REFERENCE §7). An agreement's first
charge is its checkout's authorization and has both; charges 2..n arrive at PeriodReturnURL
with only a Gwsr, and ECPay documents no DoAction for them, nor which authorization a
DoAction on the agreement's numbers reaches once it has charged again. So: the first charge
by the saga while it is the agreement's only one; everything else by bank transfer (the
simulator refuses the rest, the harsher reading)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.db.models import CardAgreement, PeriodCharge


def charged_again(session: Session, merchant_trade_no: str) -> bool:
    """True when the agreement set up by this checkout has taken a later charge."""
    return session.scalar(
        select(PeriodCharge.id).join(CardAgreement, CardAgreement.id == PeriodCharge.agreement_id)
        .where(CardAgreement.merchant_trade_no == merchant_trade_no,
               PeriodCharge.success.is_(True)).limit(1)) is not None
