"""Rows for the benchmarks, written fast with INSERT … SELECT generate_series."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from services.core.domain.periods import BillingCycle, Period, add_cycles
from services.ecpay.checkmac import sign
from services.ecpay.credentials import EcpayCredentials
from services.ecpay.fields import format_trade_date

PRICE = 990
PLAN_SLUG = "bench-monthly"  # what the API and webhook figures order and pay
RENEWAL_SLUG = "bench-team"  # only the renewal figure's due subscriptions

_PLAN = """
INSERT INTO plans (id, slug, name, description, price, currency, billing_cycle, features,
                   is_active, is_popular, sort_order, trial_days, grace_days, renewal_schedule,
                   created_at, updated_at)
VALUES (%(id)s, %(slug)s, %(name)s, 'A plan for benchmarks', %(price)s, 'TWD', 'monthly',
        '["API access", "Email support", "99.9%% uptime"]', true, false, %(sort)s, 0, 7,
        '0 * * * *', now(), now())
"""

# Users u<prefix>000001…; password_hash is not a usable hash: these users never log in.
_USERS = """
INSERT INTO users (id, username, email, password_hash, first_name, last_name, phone,
                   company_name, tax_id, language, is_active, is_staff, is_superuser,
                   is_verified, created_at, updated_at)
SELECT gen_random_uuid(), %(prefix)s || lpad(i::text, 7, '0'),
       %(prefix)s || lpad(i::text, 7, '0') || '@bench.example.tw', '!', '', '', '', '', '',
       'zh-TW', true, false, false, true, now(), now()
FROM generate_series(1, %(count)s) AS i
"""

_SUBSCRIPTIONS = """
INSERT INTO subscriptions (id, user_id, plan_id, status, anchor_date, start_date, end_date,
                           auto_renew, cancel_at_period_end, payment_method,
                           created_at, updated_at)
SELECT gen_random_uuid(), u.id, %(plan_id)s, %(status)s, %(anchor)s, %(start)s, %(end)s,
       true, false, %(method)s, now(), now()
FROM users u WHERE u.username LIKE %(prefix)s || '%%'
"""


def add_plans(cur: Any) -> dict[str, uuid.UUID]:
    """Four active monthly plans (the list GET /api/plans/ returns); ids by slug."""
    ids = {}
    for sort, (slug, name) in enumerate(
        [(PLAN_SLUG, "Bench Monthly"), ("bench-basic", "Basic"), ("bench-pro", "Pro"),
         (RENEWAL_SLUG, "Team")]
    ):
        ids[slug] = uuid.uuid4()
        price = PRICE if slug == PLAN_SLUG else PRICE + 100 * sort
        cur.execute(_PLAN, {"id": ids[slug], "slug": slug, "name": name, "price": price,
                            "sort": sort})
    return ids


def add_users(cur: Any, prefix: str, count: int) -> None:
    cur.execute(_USERS, {"prefix": prefix, "count": count})


def add_pending_subscriptions(cur: Any, plan_id: uuid.UUID, user_id: uuid.UUID,
                              count: int) -> list[str]:
    """`count` pending subscriptions of one user, each orderable once (POST /api/orders/)."""
    cur.execute(
        """INSERT INTO subscriptions (id, user_id, plan_id, status, auto_renew,
                                      cancel_at_period_end, created_at, updated_at)
           SELECT gen_random_uuid(), %s, %s, 'pending', true, false, now(), now()
           FROM generate_series(1, %s) RETURNING id""",
        (user_id, plan_id, count),
    )
    return [str(row[0]) for row in cur.fetchall()]


def add_paying_orders(cur: Any, plan_id: uuid.UUID, count: int,
                      prefix: str = "wh") -> list[str]:
    """`count` customers named `prefix`0000001…, each with a pending subscription and one
    pending order numbered "B" + the prefix's first letter + a serial; returns the order
    numbers (MerchantTradeNo)."""
    add_users(cur, prefix, count)
    cur.execute(_SUBSCRIPTIONS, {"plan_id": plan_id, "status": "pending", "anchor": None,
                                 "start": None, "end": None, "method": "credit_card",
                                 "prefix": prefix})
    cur.execute(
        """INSERT INTO orders (id, order_number, user_id, subscription_id, plan_id, amount,
                               currency, status, payment_method, is_renewal,
                               created_at, updated_at)
           SELECT gen_random_uuid(),
                  'B' || upper(left(%(prefix)s, 1)) || lpad(row_number() OVER ()::text, 12, '0'),
                  s.user_id, s.id, s.plan_id, %(price)s, 'TWD', 'pending', 'credit_card', false,
                  now(), now()
           FROM subscriptions s
           WHERE s.status = 'pending' AND s.payment_method = 'credit_card'
             AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.subscription_id = s.id)
           RETURNING order_number""",
        {"prefix": prefix, "price": PRICE},
    )
    return sorted(row[0] for row in cur.fetchall())


_INVOICES = """
    INSERT INTO invoices (id, invoice_number, order_id, user_id, amount, tax_amount,
                          total_amount, currency, buyer_name, buyer_email, buyer_tax_id,
                          description, issued_at, paid_at, created_at)
    SELECT gen_random_uuid(),
           'BENCH-' || upper(%(prefix)s) || '-' || lpad(row_number() OVER ()::text, 7, '0'),
           o.id, o.user_id, 943, 47, 990, 'TWD', u.username, u.email, '',
           -- As issue_invoice writes it: the plan and the period paid.
           'Bench 月繳 ' || to_char(now(), 'YYYY-MM-DD') || ' – '
               || to_char(now() + interval '1 month', 'YYYY-MM-DD'), now(), now(),
           now()
    FROM orders o JOIN users u ON u.id = o.user_id
    WHERE o.order_number LIKE 'B' || upper(left(%(prefix)s, 1)) || '%%'
      AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.order_id = o.id)
    RETURNING id
"""


def add_invoices(cur: Any, plan_id: uuid.UUID, count: int, prefix: str) -> list[str]:
    """`count` paying orders (see add_paying_orders), each with an invoice and no PDF yet;
    returns the invoice ids."""
    add_paying_orders(cur, plan_id, count, prefix=prefix)
    cur.execute(_INVOICES, {"prefix": prefix})
    return [str(uuid.UUID(str(row[0]))) for row in cur.fetchall()]


def due_period(now: datetime) -> Period:
    """The first monthly period of a subscription paid about a month ago, as payment
    activation writes it (anchor = start = paid at, end = one cycle on from the anchor), so
    that it ends about tomorrow and is due for renewal. Its end is on the anchor's boundary
    whatever the day of the month (a clamped short month can only bring it a few days
    earlier, which is still due)."""
    paid_at = add_cycles((now + timedelta(days=1)).replace(microsecond=0),
                         BillingCycle.MONTHLY, -1)
    return Period(paid_at, add_cycles(paid_at, BillingCycle.MONTHLY, 1))


def add_due_subscriptions(cur: Any, plan_id: uuid.UUID, count: int, now: datetime,
                          prefix: str = "rn") -> None:
    """`count` active ATM subscriptions whose first monthly period ends about tomorrow (due
    for renewal), each of its own customer named `prefix`0000001…"""
    add_users(cur, prefix, count)
    period = due_period(now)
    cur.execute(_SUBSCRIPTIONS, {"plan_id": plan_id, "status": "active", "anchor": period.start,
                                 "start": period.start, "end": period.end,
                                 "method": "atm", "prefix": prefix})
    cur.execute("ANALYZE")


def notification_bodies(order_numbers: list[str], credentials: EcpayCredentials) -> list[str]:
    """ReturnURL posts for each order, paid by card and signed as ECPay signs them."""
    stamp = format_trade_date(datetime.now(UTC))
    bodies = []
    for i, number in enumerate(order_numbers):
        fields = {
            "MerchantID": credentials.merchant_id, "MerchantTradeNo": number, "StoreID": "",
            "RtnCode": "1", "RtnMsg": "交易成功", "TradeNo": f"26{i:014d}",
            "TradeAmt": str(PRICE), "PaymentDate": stamp, "PaymentType": "Credit_CreditCard",
            "PaymentTypeChargeFee": "27", "TradeDate": stamp, "SimulatePaid": "0",
            "CustomField1": "", "CustomField2": "", "CustomField3": "", "CustomField4": "",
        }
        bodies.append(urlencode(sign(fields, credentials.hash_key, credentials.hash_iv)))
    return bodies
