"""Issue #18, the customer's overview: every subscription with its next charge and actions,
"retry" that starts a new payment attempt at the gateway, cancel with a confirmation that
says what happens to the paid period and the money, a checkout that says what is charged
today, and staff's own pages with only their own data. Real Chromium, real stack."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, update

from services.core.db.models import User
from tests.e2e.stack import Stack
from tests.e2e.ui.test_ui_flows import (
    PASSWORD,
    click,
    log_in,
    new_name,
    open_plans,
    pay_by_api,
    register_by_api,
)
from tests.e2e.ui.test_ui_phone_routing import DESKTOP, snap

pytestmark = pytest.mark.e2e


def test_a_customer_with_two_subscriptions_sees_and_manages_both(
    stack: Stack, page: Any, tmp_path: Path
) -> None:
    username = new_name("two")
    register_by_api(stack, username)
    pay_by_api(stack, username, "pro-monthly", paid=True, trial_used=True)
    declined = pay_by_api(stack, username, "starter-monthly", paid=False)
    log_in(page, stack, username)

    pro = page.locator(".fx-sub-pro-monthly")
    pro.get_by_text("使用中").wait_for()
    # Next charge: date, amount and method (no card agreement: paid by a one-off order).
    pro.get_by_text(re.compile(r"^\d{4}-\d{2}-\d{2} NT\$990（屆時以您選擇的方式付款）$")).wait_for()
    pro.get_by_text("未設定").wait_for()  # its card agreement
    starter = page.locator(".fx-sub-starter-monthly")
    starter.get_by_text("試用中").wait_for()
    starter.get_by_text("付款後開始").wait_for()
    snap(page, tmp_path, "o1-two-subscriptions")

    # The older one's failed payment: "retry" opens its order and starts a new attempt.
    starter.locator("button", has_text="重新付款").click()
    page.wait_for_url(f"{stack.ui_url}/orders/{declined['id']}")
    page.locator(".fx-failure").get_by_text("上次付款未成功").wait_for()
    click(page, "fx-pay-now")
    page.wait_for_url(re.compile("^" + re.escape(stack.sim_url)))
    assert "duplicate" not in page.content().lower()
    page.get_by_role("button", name=re.compile("Pay by card")).click()
    page.wait_for_url(f"{stack.ui_url}/orders/{declined['id']}")
    page.locator(".fx-order-status").get_by_text("已付款").wait_for(timeout=60_000)

    # The account page leads to the other subscription too.
    click(page, "fx-nav-account")
    page.locator(".fx-other-subscriptions").get_by_text(re.compile("入門版|專業版")).wait_for()

    # Cancel the Pro subscription now: first it says what happens to the period and money.
    click(page, "fx-nav-dashboard")
    page.locator(".fx-sub-pro-monthly button", has_text="管理訂閱").click()
    page.wait_for_url(re.compile(re.escape(stack.ui_url) + r"/subscriptions/[0-9a-f-]{36}$"))
    click(page, "fx-cancel-now")
    confirm = page.locator(".fx-cancel-warning")
    confirm.get_by_text(re.compile("已付費期間（至 \\d{4}-\\d{2}-\\d{2}）")).wait_for()
    confirm.get_by_text(re.compile("不會自動退款")).wait_for()
    snap(page, tmp_path, "o2-cancel-confirmation",
         again=lambda: (click(page, "fx-cancel-now"),
                        page.locator(".fx-cancel-warning").wait_for()))
    click(page, "fx-cancel-keep")  # changed their mind: nothing happened
    expect(page.locator(".fx-cancel-warning")).to_have_count(0)
    page.locator(".fx-subscription").get_by_text("使用中").wait_for()
    click(page, "fx-cancel-now")
    click(page, "fx-cancel-confirm")
    page.locator(".fx-alert-success").get_by_text("訂閱已取消。").wait_for()
    page.locator(".fx-subscription").get_by_text("已取消").wait_for()
    click(page, "fx-nav-dashboard")
    page.locator(".fx-ended-subscriptions").get_by_text("專業版").first.wait_for()
    page.locator(".fx-sub-starter-monthly").wait_for()


def test_checkout_states_todays_charge_tax_period_and_trial_and_shows_the_choice(
    stack: Stack, page: Any, tmp_path: Path
) -> None:
    username = new_name("terms")
    register_by_api(stack, username)
    log_in(page, stack, username)
    page.set_viewport_size(DESKTOP)
    open_plans(page)
    click(page, "fx-choose-pro-monthly")
    summary = page.locator(".fx-checkout-summary")
    summary.get_by_text("今天收費 NT$990").wait_for()
    summary.get_by_text("含 5% 營業稅 NT$47").wait_for()
    summary.get_by_text(re.compile(r"免費試用 \d+ 天，至 \d{4}-\d{2}-\d{2} 止")).wait_for()
    # In the trial a card payment is a one-off: ECPay's agreement would charge at once.
    summary.get_by_text(re.compile("試用期間的信用卡付款為單次付款；定期定額於試用結束後")
                        ).wait_for()
    page.locator(".fx-method button", has_text="ATM 轉帳").click()  # no card: renewal orders
    summary.get_by_text(re.compile("之後每月到期前會產生 NT\\$990 的續訂訂單")).wait_for()
    covers = re.compile(r"本次付款涵蓋 \d{4}-\d{2}-\d{2} – \d{4}-\d{2}-\d{2}")
    summary.get_by_text(covers).wait_for()
    # The payment choice was scrolled into view: no hunting below the fold.
    top = page.locator(".fx-checkout-summary").evaluate("e => e.getBoundingClientRect().top")
    assert 0 <= top < DESKTOP["height"], top
    snap(page, tmp_path, "o3-checkout-terms", again=lambda: (
        page.wait_for_url(stack.ui_url + "/plans?plan=pro-monthly"),
        page.locator(".fx-checkout-summary").wait_for()))


def test_staff_own_overview_shows_only_their_own_subscriptions(
    stack: Stack, page: Any
) -> None:
    customer, staff = new_name("cust"), new_name("boss")
    register_by_api(stack, customer)
    register_by_api(stack, staff)
    pay_by_api(stack, customer, "pro-monthly", paid=True, trial_used=True)
    engine = create_engine(stack.database_url)
    with engine.begin() as connection:
        connection.execute(update(User).where(User.username == staff).values(is_staff=True))
    engine.dispose()
    api = httpx.Client(base_url=stack.api_url, timeout=10)
    token = api.post("/api/auth/login/", json={"username": staff, "password": PASSWORD})
    everyone = api.get("/api/subscriptions/", headers={
        "Authorization": f"Bearer {token.json()['access']}"}).json()
    assert everyone["results"], "staff see everyone's subscriptions through the API"

    log_in(page, stack, staff)
    page.locator(".fx-page-dashboard").get_by_text("您目前沒有訂閱任何方案").wait_for()
    expect(page.locator(".fx-subscription")).to_have_count(0)
    page.locator(".fx-paid-year").get_by_text("NT$0").wait_for()
    page.locator(".fx-page-dashboard").get_by_text("尚無訂單").wait_for()
    open_plans(page)  # the staff section still has the company's figures
    click(page, "fx-nav-staff")
    page.locator(".fx-staff-customers tr", has_text=customer).wait_for()
