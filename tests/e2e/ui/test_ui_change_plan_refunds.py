"""Issues #17 and #18 on the customer's side: "change plan" from a subscription (an upgrade
previewed with today's charge and tax, paid at the ECPay simulator, and the plan switched; a
downgrade scheduled for the period end, shown, and withdrawn), refunds and the credit balance
on the order and invoice pages, and plans in the customer's language. Real Chromium against
the real stack; screenshots in zh-TW and English at phone and desktop width under tmp_path."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, update

from services.core.db.models import User
from tests.e2e.stack import Stack, wait_until
from tests.e2e.ui.test_ui_flows import (
    PAID_WITHIN_MS,
    PASSWORD,
    click,
    log_in,
    new_name,
    pay_by_api,
    register_by_api,
)
from tests.e2e.ui.test_ui_phone_routing import DESKTOP, snap

pytestmark = pytest.mark.e2e
SUB_URL = r"/subscriptions/[0-9a-f-]{36}"


def api_as(stack: Stack, username: str) -> tuple[httpx.Client, dict[str, str]]:
    api = httpx.Client(base_url=stack.api_url, timeout=10)
    tokens = api.post("/api/auth/login/", json={"username": username, "password": PASSWORD})
    return api, {"Authorization": f"Bearer {tokens.json()['access']}"}


def nt(amount: str) -> str:
    return f"NT${int(amount):,}"


def test_an_upgrade_shows_todays_charge_is_paid_at_the_gateway_and_switches_the_plan(
    stack: Stack, page: Any, tmp_path: Path
) -> None:
    username = new_name("up")
    register_by_api(stack, username)
    order = pay_by_api(stack, username, "starter-monthly", paid=True, trial_used=True)
    sub_id = order["subscription_id"]
    api, auth = api_as(stack, username)
    pro = next(p for p in api.get("/api/plans/").json()["results"] if p["slug"] == "pro-monthly")
    expected = api.post(f"/api/subscriptions/{sub_id}/change-plan/preview/", headers=auth,
                        json={"plan_id": pro["id"]}).json()
    assert expected["requires_payment"], expected
    log_in(page, stack, username)
    page.set_viewport_size(DESKTOP)

    # From the overview to the subscription, then "change plan" at its own URL.
    page.locator(".fx-sub-starter-monthly button", has_text="管理訂閱").click()
    page.wait_for_url(f"{stack.ui_url}/subscriptions/{sub_id}")
    click(page, "fx-change-plan")
    page.wait_for_url(f"{stack.ui_url}/subscriptions/{sub_id}/change-plan")
    # Plans in zh-TW (the Plan resource's translation), the current one not offered.
    page.locator(".fx-change-plan-pro-monthly").get_by_text("專業版").wait_for()
    expect(page.locator(".fx-change-plan-starter-monthly")).to_have_count(0)

    def preview() -> None:
        click(page, "fx-change-to-pro-monthly")
        page.locator(".fx-change-quote .fx-change-today").wait_for()  # drawn, not just placed

    preview()
    quote = page.locator(".fx-change-quote")
    due, tax = nt(expected["amount_due"]), nt(expected["tax"]["tax"])
    quote.get_by_text(f"今天需付款 {due}（含 5% 營業稅 {tax}）").wait_for()
    quote.get_by_text(f"−{nt(expected['credit'])}").wait_for()  # the unused Starter days
    quote.get_by_text("付款完成後立即生效").wait_for()
    quote.get_by_text("NT$990 每月").wait_for()  # what it renews at afterwards
    snap(page, tmp_path, "c1-upgrade-preview", again=preview)
    page.locator(".fx-change-quote").get_by_text("今天需付款").wait_for()

    # Confirm: straight to the gateway for the proration order, and back to it paid.
    click(page, "fx-change-confirm")
    page.wait_for_url(re.compile("^" + re.escape(stack.sim_url)))
    assert "duplicate" not in page.content().lower()
    page.get_by_role("button", name=re.compile("Pay by card")).click()
    page.wait_for_url(re.compile(re.escape(stack.ui_url) + r"/orders/[0-9a-f-]{36}$"))
    page.locator(".fx-order-status").get_by_text("已付款").wait_for(timeout=PAID_WITHIN_MS)
    page.locator(".fx-page-order").get_by_text(due).first.wait_for()
    wait_until(lambda: api.get(f"/api/subscriptions/{sub_id}/", headers=auth).json()["plan_id"]
               == pro["id"], "the plan switched once the upgrade was paid", timeout=60)
    page.goto(f"{stack.ui_url}/subscriptions/{sub_id}")
    page.locator(".fx-page-subscription h2").get_by_text("專業版").wait_for()
    expect(page.locator(".fx-scheduled-change")).to_have_count(0)


def test_a_subscriber_choosing_another_plan_is_offered_a_plan_change_not_a_second_plan(
    stack: Stack, page: Any, tmp_path: Path
) -> None:
    username = new_name("pick")
    register_by_api(stack, username)
    order = pay_by_api(stack, username, "starter-monthly", paid=True, trial_used=True)
    sub_id = order["subscription_id"]
    api, auth = api_as(stack, username)

    def subscriptions() -> list[str]:
        return [s["id"] for s in api.get("/api/subscriptions/", headers=auth).json()["results"]]

    before = subscriptions()
    log_in(page, stack, username)
    page.set_viewport_size(DESKTOP)
    click(page, "fx-nav-plans")
    click(page, "fx-choose-pro-monthly")
    # The plan change for the running subscription, the chosen plan previewed at once.
    page.wait_for_url(f"{stack.ui_url}/subscriptions/{sub_id}/change-plan?plan=pro-monthly")
    page.locator(".fx-change-quote .fx-change-today").wait_for()
    snap(page, tmp_path, "c0-plans-page-to-change-plan")
    assert subscriptions() == before  # no second subscription was started
    # Panel asks for its stylesheets relative to this nested URL: they must load (the theme).
    css = httpx.get(f"{stack.ui_url}/subscriptions/{sub_id}/static/extensions/panel/css/"
                    "button.css?v=1", follow_redirects=True)
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]


def test_a_downgrade_is_scheduled_for_the_period_end_shown_and_cancelled(
    stack: Stack, page: Any, tmp_path: Path
) -> None:
    username = new_name("down")
    register_by_api(stack, username)
    order = pay_by_api(stack, username, "pro-monthly", paid=True, trial_used=True)
    sub_id = order["subscription_id"]
    api, auth = api_as(stack, username)
    end = api.get(f"/api/subscriptions/{sub_id}/", headers=auth).json()["end_date"]
    log_in(page, stack, username)
    page.goto(f"{stack.ui_url}/subscriptions/{sub_id}/change-plan")  # a bookmark works

    click(page, "fx-change-to-starter-monthly")
    quote = page.locator(".fx-change-quote")
    quote.get_by_text("今天不收費").wait_for()
    quote.get_by_text(re.compile(r"本期結束時（\d{4}-\d{2}-\d{2}）")).wait_for()
    quote.get_by_text("NT$299 每月").wait_for()
    click(page, "fx-change-confirm")
    page.wait_for_url(f"{stack.ui_url}/subscriptions/{sub_id}")
    done = re.compile("已排定於 .* 變更為 入門版")
    page.locator(".fx-alert-success").get_by_text(done).wait_for()
    notice = page.locator(".fx-scheduled-change")
    notice.get_by_text(re.compile(r"將於 \d{4}-\d{2}-\d{2} 改為 入門版")).wait_for()
    change = api.get(f"/api/subscriptions/{sub_id}/change-plan/", headers=auth).json()
    assert (change["status"], change["effective_at"][:10]) == ("scheduled", end[:10])
    snap(page, tmp_path, "c2-scheduled-downgrade")

    click(page, "fx-cancel-scheduled-change")
    page.locator(".fx-alert-success").get_by_text("已取消排定的方案變更。").wait_for()
    expect(page.locator(".fx-scheduled-change")).to_have_count(0)
    assert api.get(f"/api/subscriptions/{sub_id}/change-plan/",
                   headers=auth).status_code == 404
    # Still on Pro, and it can be changed again.
    page.locator(".fx-page-subscription h2").get_by_text("專業版").wait_for()
    page.locator(".fx-change-plan").wait_for()


def paid_atm_order(stack: Stack, username: str) -> dict[str, Any]:
    """An ATM order paid through the payment service's development path (so it is refunded
    by bank transfer: owed until staff confirm it)."""
    api, auth = api_as(stack, username)
    plan = next(p for p in api.get("/api/plans/").json()["results"]
                if p["slug"] == "starter-monthly")
    sub = api.post("/api/subscriptions/", json={"plan_id": plan["id"]}, headers=auth).json()
    order = api.post("/api/orders/", headers=auth, json={
        "subscription_id": sub["id"], "payment_method": "atm"}).json()
    answer = httpx.post(f"{stack.payment_url}/payment/test/", headers=auth,
                        json={"order_id": order["id"], "paid": True})
    assert answer.status_code == 200, answer.text
    return wait_until(
        lambda: (o := api.get(f"/api/orders/{order['id']}/", headers=auth).json())["status"]
        == "completed" and o, "the ATM order paid", timeout=60)


def test_refunds_and_the_credit_balance_show_on_the_order_and_invoice_pages(
    stack: Stack, page: Any, tmp_path: Path
) -> None:
    customer, staff = new_name("refd"), new_name("desk")
    register_by_api(stack, customer)
    register_by_api(stack, staff)
    engine = create_engine(stack.database_url)
    with engine.begin() as connection:
        connection.execute(update(User).where(User.username == staff).values(is_staff=True))
    engine.dispose()
    order = paid_atm_order(stack, customer)
    api, mine = api_as(stack, customer)
    _, desk = api_as(stack, staff)
    note = "內部備註：客訴單 4711"
    refund = api.post(f"/api/orders/{order['id']}/refunds/", json={
        "amount": "100", "reason": note}, headers=desk | {"Idempotency-Key": "e2e-refund"})
    assert refund.status_code == 201, refund.text
    assert refund.json()["status"] == "owed"
    granted = api.post("/api/credits/", headers=desk, json={
        "user_id": order["user_id"], "amount": 50, "note": "goodwill"})
    assert granted.status_code == 201, granted.text

    log_in(page, stack, customer)
    page.goto(f"{stack.ui_url}/orders/{order['id']}")
    refunds = page.locator(".fx-refunds")
    refunds.get_by_text("NT$100").first.wait_for()
    refunds.get_by_text("待匯款").wait_for()
    page.locator(".fx-credit-balance").get_by_text(re.compile("帳戶餘額：NT\\$50")).wait_for()
    assert note not in page.content()

    confirmed = api.post(f"/api/refunds/{refund.json()['id']}/confirm/", headers=desk,
                         json={"reference": "TX-E2E-1"})
    assert confirmed.status_code == 200, confirmed.text
    invoice = next(i for i in api.get("/api/invoices/", headers=mine).json()["results"]
                   if i["order_id"] == order["id"])
    page.goto(f"{stack.ui_url}/invoices/{invoice['id']}")
    refunds = page.locator(".fx-refunds")
    refunds.get_by_text("已匯款").wait_for()
    refunds.get_by_text("已退還 NT$100").wait_for()
    assert note not in page.content()
    snap(page, tmp_path, "c3-invoice-refunds")
    page.goto(f"{stack.ui_url}/orders/{order['id']}")
    page.locator(".fx-refunds").get_by_text("已匯款").wait_for()
