"""Pure readings of a customer's billing data: current plan, amounts, what needs action."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from fluxus_ui.i18n import TAIPEI
from fluxus_ui.models import Order, Subscription

TRIAL_WARNING = timedelta(days=7)
_LIVE_ORDER = {"active": 0, "past_due": 1, "trial": 2, "pending": 3}


@dataclass(frozen=True)
class Banner:
    """Something the customer must act on: an i18n key, its values and a severity."""

    key: str
    values: dict[str, str]
    level: str  # warning | danger | info
    order_id: str = ""


def current_subscription(subscriptions: list[Subscription]) -> Subscription | None:
    """The subscription the dashboard headlines: active first, newest first within a status."""
    live = [s for s in subscriptions if s.status in _LIVE_ORDER]
    if not live:
        return None
    newest_first = sorted(live, key=lambda s: s.created_at or datetime.min.replace(tzinfo=TAIPEI),
                          reverse=True)
    return min(newest_first, key=lambda s: _LIVE_ORDER[s.status])


def paid_this_year(orders: list[Order], now: datetime) -> Decimal:
    """What was paid in the current calendar year in Taiwan."""
    year = now.astimezone(TAIPEI).year
    return sum(
        (o.amount for o in orders
         if o.status == "completed" and o.paid_at and o.paid_at.astimezone(TAIPEI).year == year),
        Decimal(0),
    )


def next_renewal(subscription: Subscription) -> datetime | None:
    if not subscription.auto_renew or subscription.cancel_at_period_end:
        return None
    if subscription.status == "trial":
        return subscription.trial_end_date
    return subscription.end_date if subscription.status in ("active", "past_due") else None


def banners(
    subscriptions: list[Subscription], orders: list[Order], now: datetime
) -> list[Banner]:
    """The dashboard's call-to-action banners, most urgent first."""
    found: list[Banner] = []
    if any(s.status == "past_due" for s in subscriptions):
        found.append(Banner("banner.past_due", {}, "danger"))
    for order in orders:
        if order.status not in ("pending", "processing"):
            continue
        if order.awaits_customer and (order.expire_at is None or order.expire_at > now):
            info = order.payment_info
            expire = order.expire_at or _info_expiry(info)
            found.append(Banner(
                "banner.pending_code",
                {"number": order.order_number, "method": order.payment_method,
                 "expire": expire.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M") if expire
                 else str(info.get("expire_date", "—"))},
                "warning", order.id,
            ))
    for sub in subscriptions:
        end = sub.trial_end_date
        if sub.status == "trial" and end is not None and now <= end <= now + TRIAL_WARNING:
            found.append(Banner(
                "banner.trial_ending", {"date": end.astimezone(TAIPEI).strftime("%Y-%m-%d")},
                "info",
            ))
    return found


def _info_expiry(info: dict[str, object]) -> datetime | None:
    raw = info.get("expire_date") or info.get("ExpireDate")
    if not isinstance(raw, str):
        return None
    # ECPay writes ExpireDate in Taipei time without an offset.
    for fmt in ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d"):
        try:
            return datetime.strptime(f"{raw} +0800", f"{fmt} %z").astimezone(TAIPEI)
        except ValueError:
            continue
    return None


def payment_instructions(order: Order) -> list[tuple[str, str]]:
    """(i18n key, value) rows telling the customer how to pay an ATM/CVS/barcode order."""
    info = order.payment_info
    rows: list[tuple[str, str]] = []

    def pick(*names: str) -> str:
        return next((str(info[n]) for n in names if info.get(n)), "")

    for key, names in (
        ("pay.bank_code", ("bank_code", "BankCode")),
        ("pay.account", ("v_account", "vAccount", "account")),
        ("pay.payment_no", ("payment_no", "PaymentNo")),
    ):
        value = pick(*names)
        if value:
            rows.append((key, value))
    for n in (1, 2, 3):
        value = pick(f"barcode{n}", f"Barcode{n}", f"barcode_{n}")
        if value:
            rows.append((f"pay.barcode:{n}", value))
    expire = order.expire_at or _info_expiry(info)
    if expire is not None:
        rows.append(("pay.expire", expire.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M")))
    elif pick("expire_date", "ExpireDate"):
        rows.append(("pay.expire", pick("expire_date", "ExpireDate")))
    return rows
