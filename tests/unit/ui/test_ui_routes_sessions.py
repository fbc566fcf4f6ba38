"""URLs of the dashboard's pages, session ids that rotate and are signed, and what a checkout
says it charges: the pure parts of issue #18's routing, security and checkout."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from fluxus_ui.i18n import translate
from fluxus_ui.models import Plan
from fluxus_ui.pages.plans import checkout_summary
from fluxus_ui.routes import SERVED, parse, safe_next, url_for
from fluxus_ui.server import security_headers
from fluxus_ui.session import SessionVault, sign, unsign
from fluxus_ui.stores.checkout_terms import add_cycle, terms

ORDER = "0f6e5a2c-1111-4222-8333-444455556666"


@pytest.mark.parametrize(("url", "view", "params"), [
    ("/", "dashboard", {}),
    ("/plans?plan=pro-monthly", "plans", {"plan": "pro-monthly"}),
    (f"/orders/{ORDER}", "orders", {"order_id": ORDER}),
    (f"/invoices/{ORDER}", "invoices", {"invoice_id": ORDER}),
    (f"/subscriptions/{ORDER}", "subscription", {"subscription_id": ORDER}),
    ("/account", "account", {}),
    ("/login?next=%2Forders", "login", {"next": "/orders"}),
    ("/verify-email?token=abc", "verify", {"token": "abc"}),
    ("/reset-password?token=xyz", "reset", {"token": "xyz"}),
    ("/staff/reviews", "staff-reviews", {}),
    ("/staff/einvoices", "staff-einvoices", {}),
])
def test_every_page_url_reads_back_to_the_same_view(url: str, view: str,
                                                    params: dict[str, str]) -> None:
    path, _, query = url.partition("?")
    assert parse(path, query) == (view, params)
    assert parse(*url_for(view, params).partition("?")[::2]) == (view, params)


def test_the_server_answers_every_url_the_router_makes() -> None:
    served = {path.split("{")[0].rstrip("/") or "/" for path in SERVED}
    for view in ("dashboard", "plans", "orders", "invoices", "account", "login", "register",
                 "forgot", "verify", "reset", "staff", "staff-reviews", "staff-einvoices"):
        assert url_for(view).split("?")[0] in served, view


def test_unknown_paths_and_foreign_parameters_fall_back_safely() -> None:
    assert parse("/nowhere", "") == ("dashboard", {})
    assert parse("/orders", "evil=1") == ("orders", {})
    assert safe_next("https://evil.example/") == "/"
    assert safe_next("//evil.example/x") == "/"
    assert safe_next("/\\evil") == "/"
    assert safe_next("/plans?plan=pro") == "/plans?plan=pro"


def test_a_rotated_session_keeps_its_login_under_a_new_id_and_the_old_id_is_gone() -> None:
    vault = SessionVault()
    old = vault.create()
    vault.entry(old).language = "en"
    new, ticket = vault.rotate(old)
    assert new != old and not vault.known(old) and vault.known(new)
    assert vault.entry(new).language == "en"
    assert vault.redeem(ticket) == new
    assert vault.redeem(ticket) is None  # single use


def test_only_ids_this_process_signed_are_read() -> None:
    assert unsign(sign("abc")) == "abc"
    assert unsign("abc") is None
    assert unsign(sign("abc")[:-2] + "00") is None


def test_security_headers_name_the_gateway_as_the_only_other_form_target() -> None:
    headers = security_headers("https://payment-stage.ecpay.com.tw/Cashier/AioCheckOut/V5")
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Content-Security-Policy"].endswith(
        "form-action 'self' https://payment-stage.ecpay.com.tw")


def _plan(**kwargs: object) -> Plan:
    base = {"id": "p", "slug": "pro-monthly", "name": "Pro", "price": "990",
            "billing_cycle": "monthly", "trial_days": 14}
    return Plan.from_json({**base, **kwargs})


def test_checkout_terms_with_a_trial_pay_today_for_the_period_after_it() -> None:
    now = datetime(2026, 1, 20, 4, 0, tzinfo=UTC)
    deal = terms(_plan(), had_trial=False, now=now)
    assert (deal.charge, deal.tax) == (Decimal(990), Decimal(47))
    assert deal.trial_end == datetime(2026, 2, 3, 4, 0, tzinfo=UTC)
    assert deal.period_start == deal.trial_end
    assert deal.period_end == datetime(2026, 3, 3, 4, 0, tzinfo=UTC)
    again = terms(_plan(), had_trial=True, now=now)  # one trial per customer and plan
    assert again.trial_end is None and again.period_start == now


def test_a_card_checkout_in_a_trial_promises_no_card_agreement_until_the_trial_ends() -> None:
    now = datetime(2026, 1, 20, 4, 0, tzinfo=UTC)

    def summary(had_trial: bool, lang: str) -> str:
        return checkout_summary(lambda key, **v: translate(key, lang, **v), _plan(), had_trial,
                                now, "credit_card")

    assert "automatic card payments start with your first card payment after the trial" in (
        summary(had_trial=False, lang="en"))
    assert "試用結束後第一次以信用卡付款時設定" in summary(had_trial=False, lang="zh-TW")
    assert "Card agreement: ECPay then charges NT$990" in summary(had_trial=True, lang="en")


def test_a_cycle_keeps_the_day_or_takes_the_months_last() -> None:
    jan31 = datetime(2026, 1, 31, 4, 0, tzinfo=UTC)  # noon in Taipei
    assert add_cycle(jan31, "monthly") == datetime(2026, 2, 28, 4, 0, tzinfo=UTC)
    assert add_cycle(jan31, "yearly") == datetime(2027, 1, 31, 4, 0, tzinfo=UTC)
