"""The dashboard in a real Chromium against the real API, payment service, worker and simulator."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, update

from services.core.db.models import User
from tests.e2e.stack import Stack, wait_until
from tests.e2e.ui.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e

PASSWORD = "Taipei-101-skyline"
PAID_WITHIN_MS = 60_000


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def fill(page: Any, css: str, value: str) -> None:
    page.locator(f".{css} input").fill(value)


def click(page: Any, css: str) -> None:
    page.locator(f".{css} button").first.click()


def new_name(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def register_by_api(stack: Stack, username: str) -> None:
    response = httpx.post(f"{stack.api_url}/api/auth/register/", json={
        "username": username, "email": f"{username}@example.tw", "password": PASSWORD})
    assert response.status_code == 202, response.text


def log_in(page: Any, stack: Stack, username: str) -> None:
    page.goto(stack.ui_url + "/")
    fill(page, "fx-login", username)
    fill(page, "fx-password", PASSWORD)
    click(page, "fx-login-submit")
    page.locator(".fx-page-dashboard").wait_for()


def open_plans(page: Any) -> None:
    click(page, "fx-nav-plans")
    page.locator(".fx-plan-pro-monthly").get_by_text("最受歡迎").wait_for()


def check_out(page: Any, stack: Stack, plan_slug: str, method_label: str) -> None:
    """From the plans page: choose a plan and a method, and go to the gateway."""
    click(page, f"fx-choose-{plan_slug}")
    page.locator(".fx-method button", has_text=method_label).click()
    click(page, "fx-checkout")
    page.wait_for_url(re.compile("^" + re.escape(stack.sim_url)))


def test_register_pay_by_card_then_dashboard_shows_subscription_invoice_and_pdf(
    stack: Stack, page: Any, tmp_path: Path
) -> None:
    username = new_name("mei")
    page.goto(stack.ui_url + "/")
    page.locator(".fx-login").wait_for()
    shot(page, "01-login")
    click(page, "fx-nav-register")
    fill(page, "fx-username", username)
    fill(page, "fx-email", f"{username}@example.tw")
    fill(page, "fx-password", "12345678")
    fill(page, "fx-password2", "12345678")
    click(page, "fx-register-submit")
    # The API's password rule is shown next to the password field.
    page.locator(".fx-error-password").get_by_text(re.compile(r"\S")).wait_for()
    shot(page, "02-register-field-error")
    fill(page, "fx-password", PASSWORD)
    fill(page, "fx-password2", PASSWORD)
    click(page, "fx-register-submit")
    page.locator(".fx-alert-success").wait_for()

    fill(page, "fx-login", username)
    fill(page, "fx-password", PASSWORD)
    click(page, "fx-login-submit")
    page.locator(".fx-page-dashboard").get_by_text("您目前沒有訂閱任何方案").wait_for()
    shot(page, "03-dashboard-empty")

    open_plans(page)
    shot(page, "04-plans")
    check_out(page, stack, "pro-monthly", "信用卡")
    shot(page, "05-gateway-simulator")
    page.get_by_role("button", name=re.compile("Pay by card")).click()

    # The gateway sends the customer back to the order's page on the dashboard.
    page.wait_for_url(re.compile(re.escape(stack.ui_url) + r"/orders/[0-9a-f-]{36}$"))
    page.locator(".fx-order-status").get_by_text("已付款").wait_for(timeout=PAID_WITHIN_MS)
    shot(page, "06-order-paid")

    click(page, "fx-nav-dashboard")
    card = page.locator(".fx-subscription")
    card.get_by_text("試用中").wait_for()  # paid during the free trial: the trial is kept
    card.get_by_text("專業版").first.wait_for()  # the plan's zh-TW name
    invoices = page.locator(".fx-recent-invoices")
    invoices.get_by_text("NT$990").wait_for()
    page.locator(".fx-paid-year").get_by_text("NT$990").wait_for()
    shot(page, "07-dashboard-active")

    click(page, "fx-nav-invoices")
    page.locator(".fx-page-invoices button").first.click()
    detail = page.locator(".fx-invoice-card")
    detail.get_by_text("NT$943").wait_for()  # net: 990 - round(990 × 5 / 105)
    detail.get_by_text("NT$47").wait_for()
    shot(page, "08-invoice")
    click(page, "fx-nav-account")
    page.locator(".fx-account-subscription").get_by_text("試用中").wait_for()
    # Paid in the trial: a one-off, so no 定期定額 that would charge before the trial ends.
    assert page.locator(".fx-account-subscription").get_by_text("扣款中").count() == 0
    shot(page, "09-account")
    click(page, "fx-cancel-end")
    page.locator(".fx-alert-success").wait_for()
    page.locator(".fx-auto-renew").get_by_text("否", exact=True).wait_for()
    page.locator(".fx-account-subscription").get_by_text(re.compile("將於 .* 結束")).wait_for()
    shot(page, "09b-account-cancel-at-period-end")
    click(page, "fx-renew-on")  # changed their mind: renewal back on, cancellation withdrawn
    page.locator(".fx-auto-renew").get_by_text("是", exact=True).wait_for()
    page.locator(".fx-cancel-end").wait_for()
    shot(page, "09c-account-auto-renew-on")
    assert page.outside == []

    # Last, because it needs the payment service's PDF route.
    click(page, "fx-nav-invoices")
    page.locator(".fx-page-invoices button").first.click()
    with page.expect_download() as download_info:
        page.locator(".fx-invoice-pdf button").click()
    saved = tmp_path / "invoice.pdf"
    download_info.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
    assert download_info.value.suggested_filename.endswith(".pdf")


def test_atm_checkout_shows_the_bank_code_and_account_until_paid(
    stack: Stack, page: Any
) -> None:
    username = new_name("atm")
    register_by_api(stack, username)
    log_in(page, stack, username)
    open_plans(page)
    check_out(page, stack, "starter-monthly", "ATM 轉帳")
    page.get_by_role("button", name=re.compile("Get ATM code")).click()
    page.get_by_role("link", name=re.compile("Back to shop")).click()

    page.wait_for_url(re.compile(re.escape(stack.ui_url) + r"/orders/[0-9a-f-]{36}$"))
    code = page.locator(".fx-payment-code")
    code.get_by_text("銀行代碼").wait_for(timeout=PAID_WITHIN_MS)
    code.get_by_text(re.compile(r"^\d{3}$")).wait_for()  # bank code
    code.get_by_text(re.compile(r"^\d{10,16}$")).wait_for()  # virtual account
    page.locator(".fx-order-status").get_by_text("等待繳費").wait_for()
    shot(page, "10-order-atm-code")

    click(page, "fx-nav-dashboard")
    page.locator(".fx-banner").get_by_text(re.compile("待付款")).wait_for()
    shot(page, "11-dashboard-atm-banner")

    page.locator(".fx-language select").select_option(label="English")
    page.locator(".fx-banner").get_by_text(re.compile("awaits payment")).wait_for()
    shot(page, "12-dashboard-english")


def pay_by_api(stack: Stack, username: str, plan_slug: str, paid: bool,
               trial_used: bool = False) -> dict[str, Any]:
    """A customer's order paid (or declined) through the payment service's development path.

    With `trial_used`, the customer first subscribes and cancels, so the paying subscription
    gets no second free trial and is active (and counts in MRR) at once.
    """
    api = httpx.Client(base_url=stack.api_url, timeout=10)
    tokens = api.post("/api/auth/login/", json={"username": username, "password": PASSWORD})
    auth = {"Authorization": f"Bearer {tokens.json()['access']}"}
    plans = api.get("/api/plans/", params={"page_size": 100}).json()["results"]
    plan = next(p for p in plans if p["slug"] == plan_slug)
    sub = api.post("/api/subscriptions/", json={"plan_id": plan["id"]}, headers=auth).json()
    if trial_used:
        cancelled = api.patch(f"/api/subscriptions/{sub['id']}/update_status/", headers=auth,
                              json={"status": "cancelled"})
        assert cancelled.status_code == 200, cancelled.text
        sub = api.post("/api/subscriptions/", json={"plan_id": plan["id"]}, headers=auth).json()
        assert sub["status"] == "pending", sub  # one free trial per customer and plan
    order = api.post("/api/orders/", headers=auth, json={
        "subscription_id": sub["id"], "payment_method": "credit_card"}).json()
    answer = httpx.post(f"{stack.payment_url}/payment/test/", headers=auth,
                        json={"order_id": order["id"], "paid": paid})
    assert answer.status_code == 200, answer.text
    # A declined attempt leaves the order payable (pending) with ECPay's reason on it.
    wanted = "completed" if paid else "pending"
    return wait_until(
        lambda: (o := api.get(f"/api/orders/{order['id']}/", headers=auth).json())["status"]
        == wanted and (paid or o["failure_reason"]) and o,
        f"order {order['order_number']} {wanted}", timeout=60,
    )


def test_staff_user_sees_customers_payments_mrr_and_audit(stack: Stack, page: Any) -> None:
    customer, staff = new_name("cust"), new_name("staff")
    register_by_api(stack, customer)
    register_by_api(stack, staff)
    pay_by_api(stack, customer, "pro-monthly", paid=True, trial_used=True)
    declined = pay_by_api(stack, customer, "starter-monthly", paid=False)
    engine = create_engine(stack.database_url)
    with engine.begin() as connection:
        connection.execute(update(User).where(User.username == staff).values(is_staff=True))
    engine.dispose()

    log_in(page, stack, customer)
    assert page.locator(".fx-nav-staff").count() == 0
    click(page, "fx-nav-logout")
    page.locator(".fx-login").wait_for()

    log_in(page, stack, staff)
    click(page, "fx-nav-staff")
    row = page.locator(".fx-staff-customers tr", has_text=customer)
    row.get_by_text(re.compile(r"Pro \(使用中\)")).wait_for()
    shot(page, "13-staff-customers")
    page.locator(".bk-tab", has_text="待處理與失敗付款").click()
    page.locator(".fx-staff-payments tr", has_text=declined["order_number"]).get_by_text(
        re.compile("付款失敗")).wait_for()
    shot(page, "14-staff-payments")
    page.locator(".bk-tab", has_text="MRR 與有效訂閱").click()
    page.locator(".fx-staff-mrr tr").last.get_by_text(re.compile(r"NT\$[1-9]")).wait_for()
    shot(page, "15-staff-mrr")
    page.locator(".bk-tab", has_text="稽核紀錄").click()
    page.locator(".fx-audit-search button").click()
    page.locator(".fx-staff-audit").get_by_text("order_create").first.wait_for()
    shot(page, "16-staff-audit")


def test_api_outage_shows_a_friendly_message_and_the_session_survives_it(
    stack: Stack, page: Any
) -> None:
    username = new_name("down")
    register_by_api(stack, username)
    log_in(page, stack, username)
    stack.stop("api")
    try:
        click(page, "fx-nav-orders")
        page.locator(".fx-alert-danger").get_by_text("目前無法連線到服務").wait_for()
        shot(page, "17-api-down")
    finally:
        stack.start("api")
    click(page, "fx-nav-orders")
    page.locator(".fx-page-orders").get_by_text("尚無訂單").wait_for()


def test_a_session_ended_elsewhere_sends_the_customer_back_to_log_in(
    stack: Stack, page: Any
) -> None:
    username = new_name("gone")
    register_by_api(stack, username)
    log_in(page, stack, username)

    # The password is changed from another device: every login of the account is revoked.
    api = httpx.Client(base_url=stack.api_url, timeout=10)
    access = api.post("/api/auth/login/", json={"username": username,
                                                "password": PASSWORD}).json()["access"]
    changed = api.post("/api/users/change_password/", headers={"Authorization": f"Bearer {access}"},
                       json={"old_password": PASSWORD, "new_password": PASSWORD + "-new"})
    assert changed.status_code == 200, changed.text

    click(page, "fx-nav-invoices")
    page.get_by_text("登入已逾時，請重新登入。").wait_for()
    page.locator(".fx-login").wait_for()
    shot(page, "18-session-expired")
