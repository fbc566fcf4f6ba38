"""A paid card order's authorization as ECPay reported it: what QueryTrade is keyed by.

Card checkouts send `NeedExtraPaidInfo=Y`, so ReturnURL carries `gwsr` (the authorization
serial, QueryTrade's `CreditRefundId`) and `amount` (the authorized amount, `CreditAmount`)
[ECPay ?p=2894, REFERENCE §3, §7]. Completing a payment already keeps those raw fields,
encrypted, in `orders.payment_data` (and every notification in `payment_notifications`); this
reads them there rather than in a column of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from services.core.config import Settings
from services.core.crypto import decrypt_json
from services.core.db.models import Order, PaymentNotification, PaymentReview, Refund


@dataclass(frozen=True)
class CardAuthorization:
    gwsr: str
    amount: int


def card_authorization(session: Session, order: Order, refund: Refund,
                       settings: Settings | None = None) -> CardAuthorization | None:
    """The authorization of the trade ``refund`` gives money back from: the payment that
    completed ``order`` (its stored ReturnURL fields), or for a refund of a parked payment
    (a review item) that payment's stored notification. None when it is not known (paid
    before checkouts asked for it): never guessed."""
    if refund.review_id is not None:
        review = session.get(PaymentReview, refund.review_id)
        note = (session.get(PaymentNotification, review.notification_id)
                if review is not None and review.notification_id is not None else None)
        fields: Any = dict(note.raw) if note is not None else {}
    elif order.payment_data:
        fields = decrypt_json(order.payment_data, settings).get("fields") or {}
    else:
        return None
    if not isinstance(fields, dict) or str(fields.get("TradeNo") or refund.trade_no) \
            != refund.trade_no:
        return None
    gwsr = str(fields.get("gwsr") or "").strip()
    amount = str(fields.get("amount") or "").strip()
    # ECPay sends gwsr 0 / empty for payments that are not card authorizations.
    if not gwsr.isdigit() or int(gwsr) == 0 or not amount.isdigit() or int(amount) <= 0:
        return None
    return CardAuthorization(gwsr, int(amount))
