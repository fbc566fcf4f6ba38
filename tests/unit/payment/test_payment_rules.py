"""Pure payment rules: notification identity, answers to ECPay, periodic terms, periods."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from services.core.db.models import Order
from services.core.domain.periods import BillingCycle
from services.core.domain.periods import period_after as following_period
from services.core.usecases.checkout import CheckoutUrls, periodic_plan
from services.core.usecases.payment_notifications import (
    Kind,
    Receipt,
    Verdict,
    dedupe_key,
    simulated_return_fields,
)
from services.ecpay.checkmac import sign, verify_check_mac_value
from services.ecpay.credentials import EcpayCredentials
from services.ecpay.notifications import PaymentNotification

pytestmark = pytest.mark.unit

STAGE = EcpayCredentials.stage()
FIELDS = {"MerchantID": "3002607", "MerchantTradeNo": "FX1", "RtnCode": "1", "RtnMsg": "交易成功",
          "TradeAmt": "990"}


def test_a_resend_with_ecpays_other_wording_is_the_same_event() -> None:
    first = sign(FIELDS, STAGE.hash_key, STAGE.hash_iv)
    resend = sign({**FIELDS, "RtnMsg": "paid"}, STAGE.hash_key, STAGE.hash_iv)
    assert dedupe_key(Kind.RETURN, first, Verdict.ACCEPTED) == dedupe_key(
        Kind.RETURN, resend, Verdict.ACCEPTED)


def test_different_events_and_kinds_have_different_keys() -> None:
    base = dedupe_key(Kind.RETURN, FIELDS, Verdict.ACCEPTED)
    assert base != dedupe_key(Kind.RETURN, {**FIELDS, "RtnCode": "10100058"}, Verdict.ACCEPTED)
    assert base != dedupe_key(Kind.PERIOD, FIELDS, Verdict.ACCEPTED)


def test_a_refused_post_can_never_take_the_key_of_the_genuine_notification() -> None:
    genuine = sign(FIELDS, STAGE.hash_key, STAGE.hash_iv)
    forged = {**genuine, "CheckMacValue": "0" * 64}
    assert dedupe_key(Kind.RETURN, forged, Verdict.BAD_SIGNATURE) != dedupe_key(
        Kind.RETURN, genuine, Verdict.ACCEPTED)


@pytest.mark.parametrize(
    ("verdict", "answer"),
    [
        (Verdict.ACCEPTED, "1|OK"),
        (Verdict.SIMULATED, "1|OK"),
        (Verdict.BAD_SIGNATURE, "0|CheckMacValue Error"),
        (Verdict.WRONG_MERCHANT, "0|MerchantID Error"),
        # Signed by our key but not applicable: stored, parked for review, acknowledged —
        # refusing would only make ECPay give up on the money.
        (Verdict.AMOUNT_MISMATCH, "1|OK"),
        (Verdict.UNKNOWN_ORDER, "1|OK"),
        (Verdict.MALFORMED, "1|OK"),
    ],
)
def test_ecpay_is_told_1_ok_only_for_what_we_keep(verdict: Verdict, answer: str) -> None:
    assert Receipt(uuid.uuid4(), verdict, duplicate=False).answer == answer


@pytest.mark.parametrize(
    ("cycle", "terms"),
    [
        (BillingCycle.MONTHLY, ("M", 1, 99)),
        (BillingCycle.QUARTERLY, ("M", 3, 99)),
        (BillingCycle.YEARLY, ("Y", 1, 9)),
    ],
)
def test_periodic_terms_use_the_most_charges_ecpay_allows(
    cycle: BillingCycle, terms: tuple[str, int, int]
) -> None:
    plan = periodic_plan(cycle, 990, "https://pay.example/payment/ecpay/period/")
    assert (plan.period_type, plan.frequency, plan.exec_times) == terms
    assert plan.period_amount == 990


def test_checkout_urls_all_point_at_the_payment_service() -> None:
    urls = CheckoutUrls.under("https://pay.example.tw/")
    assert urls.return_url == "https://pay.example.tw/payment/ecpay/callback/"
    assert urls.payment_info_url == "https://pay.example.tw/payment/ecpay/payment-info/"
    assert urls.period_return_url == "https://pay.example.tw/payment/ecpay/period/"
    assert urls.customer_return_url == "https://pay.example.tw/payment/ecpay/return/"


def test_a_renewal_runs_from_the_old_end_to_the_next_anchor_boundary() -> None:
    anchor = datetime(2027, 1, 31, 2, 0, tzinfo=UTC)
    feb = datetime(2027, 2, 28, 2, 0, tzinfo=UTC)
    period = following_period(anchor, BillingCycle.MONTHLY, feb)
    assert (period.start, period.end) == (feb, datetime(2027, 3, 31, 2, 0, tzinfo=UTC))


def test_the_test_payment_is_a_signed_notification_for_a_new_attempt() -> None:
    order = Order(order_number="FX0000000000000001", amount=Decimal(990),
                  payment_method="credit_card")
    fields = simulated_return_fields(order, "FX0000000000000002", STAGE,
                                     datetime(2026, 11, 26, 4, 0, tzinfo=UTC))
    assert verify_check_mac_value(fields, STAGE.hash_key, STAGE.hash_iv)
    parsed = PaymentNotification.from_form(fields)
    # Not SimulatePaid=1: that is never fulfilled; this stands in for a real payment.
    assert (parsed.paid, parsed.simulate_paid, parsed.trade_amt) == (True, False, 990)
    assert parsed.merchant_trade_no == "FX0000000000000002"
