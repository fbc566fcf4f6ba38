"""The customer's words for a plan change and its URL, plans in the customer's language, and
refund states: the pure parts of the change-plan screen and the refunds section."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import partial

import pytest
from fluxus_ui.i18n import translate
from fluxus_ui.models import Plan
from fluxus_ui.pages.change_plan import quote_card
from fluxus_ui.routes import SERVED, parse, url_for
from fluxus_ui.stores.plan_change import Quote
from fluxus_ui.stores.refunds import Refund

pytestmark = pytest.mark.unit
SUB = "0f6e5a2c-1111-4222-8333-444455556666"
PRO = Plan.from_json({
    "id": "p2", "slug": "pro-monthly", "name": "Pro", "price": "990", "billing_cycle": "monthly",
    "description": "For teams", "features": ["API", "Reports"],
    "translations": {"zh-TW": {"name": "專業版", "features": ["API 存取", "報表"]}}})


def quote(**changes: object) -> Quote:
    # RESEARCH §2.4's example: NT$300 → NT$900, 16 of 31 days left.
    body = {"to_plan_id": "p2", "policy": "immediate", "upgrade": True,
            "proration_date": "2027-03-16T04:00:00+00:00",
            "effective_at": "2027-03-16T04:00:00+00:00", "requires_payment": True,
            "credit": "155", "charge": "465", "net": "310", "credit_balance_used": "0",
            "amount_due": "310", "tax": {"amount": "295", "tax": "15", "total": "310"},
            "remaining_days": 16, "period_days": 31} | changes
    return Quote.from_json(body)


def test_the_change_plan_screen_has_its_own_url_under_the_subscription() -> None:
    url = url_for("change-plan", {"subscription_id": SUB})
    assert url == f"/subscriptions/{SUB}/change-plan"
    assert parse(url) == ("change-plan", {"subscription_id": SUB})
    assert parse(f"/subscriptions/{SUB}") == ("subscription", {"subscription_id": SUB})
    assert "/subscriptions/{subscription_id}/change-plan" in SERVED


def test_an_upgrade_says_what_is_charged_today_with_tax_the_lines_and_the_renewal() -> None:
    zh = quote_card(partial(translate, lang="zh-TW"), quote(), PRO.in_language("zh-TW"))
    assert "今天需付款 NT$310（含 5% 營業稅 NT$15）" in zh
    assert "原方案剩餘 16 天的折抵" in zh and "−NT$155" in zh and "NT$465" in zh
    assert "付款完成後立即生效" in zh and "NT$990 每月" in zh
    en = quote_card(partial(translate, lang="en"), quote(), PRO)
    assert "Charged today: NT$310 (incl. 5% business tax NT$15)" in en


def test_a_downgrade_at_the_period_end_charges_nothing_today_and_says_when() -> None:
    end = quote(policy="end_of_term", upgrade=False, requires_payment=False, net="-310",
                amount_due="0", effective_at="2027-03-31T16:00:00+00:00")
    text = quote_card(partial(translate, lang="zh-TW"), end, PRO)
    assert "今天不收費" in text and "本期結束時（2027-04-01）" in text
    assert "折抵" not in text  # no proration lines: nothing is prorated at the period end


def test_an_immediate_downgrade_says_what_is_credited() -> None:
    now = quote(upgrade=False, requires_payment=False, net="-310", amount_due="0")
    text = quote_card(partial(translate, lang="en"), now, PRO)
    assert "Credited to your balance today: NT$310" in text


def test_plans_read_in_the_customers_language_with_the_default_as_fallback() -> None:
    zh = PRO.in_language("zh-TW")
    assert (zh.name, zh.description, zh.features) == ("專業版", "For teams", ("API 存取", "報表"))
    assert PRO.in_language("en") == PRO
    assert zh.price == Decimal(990) and zh.id == PRO.id


def test_a_refund_is_dated_when_the_money_went_back_and_every_state_reads() -> None:
    owed = Refund.from_json({"id": "r", "amount": "300", "status": "owed", "method": "manual",
                             "created_at": "2027-03-01T02:00:00+00:00", "completed_at": None})
    assert owed.when == datetime(2027, 3, 1, 2, tzinfo=UTC)
    for state in ("requested", "sent", "succeeded", "failed", "owed", "confirmed"):
        assert translate(f"refund.status.{state}") != f"refund.status.{state}"
        assert translate(f"refund.status.{state}", "en") != f"refund.status.{state}"
