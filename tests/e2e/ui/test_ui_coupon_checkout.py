"""A coupon code at the dashboard's checkout (#21): a code the API refuses is said beside the
field in the customer's language; a code that covers the whole price pays the order at once,
with no trip to ECPay. Real Chromium against the real stack."""

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
from tests.e2e.ui.test_ui_flows import PASSWORD, click, log_in, new_name, register_by_api
from tests.e2e.ui.test_ui_phone_routing import DESKTOP, snap

pytestmark = pytest.mark.e2e


def staff_api(stack: Stack) -> tuple[httpx.Client, dict[str, str]]:
    boss = new_name("boss")
    register_by_api(stack, boss)
    engine = create_engine(stack.database_url)
    with engine.begin() as connection:
        connection.execute(update(User).where(User.username == boss).values(is_staff=True))
    engine.dispose()
    api = httpx.Client(base_url=stack.api_url, timeout=10)
    tokens = api.post("/api/auth/login/", json={"username": boss, "password": PASSWORD})
    return api, {"Authorization": f"Bearer {tokens.json()['access']}"}


def test_a_coupon_code_is_checked_at_checkout_and_a_free_order_skips_the_gateway(
    stack: Stack, page: Any, tmp_path: Path
) -> None:
    api, staff = staff_api(stack)
    code = new_name("FREE").upper()
    made = api.post("/api/coupons/", headers=staff, json={
        "code": code, "name": "First month free", "kind": "percent", "percent_off": 100,
        "duration": "once"})
    assert made.status_code == 201, made.text
    username = new_name("cpn")
    register_by_api(stack, username)
    log_in(page, stack, username)
    page.set_viewport_size(DESKTOP)
    click(page, "fx-nav-plans")
    click(page, "fx-choose-starter-monthly")
    page.locator(".fx-checkout-summary").wait_for()

    page.locator(".fx-coupon input").fill("NO-SUCH-CODE")
    click(page, "fx-checkout")
    page.locator(".fx-error-coupon").get_by_text("查無此折扣碼。").wait_for()
    snap(page, tmp_path, "k1-coupon-unknown")

    page.locator(".fx-coupon input").fill(code)
    click(page, "fx-checkout")
    # Paid by the coupon: the order's own page, paid, without going to ECPay.
    expect(page).to_have_url(re.compile(re.escape(stack.ui_url) + r"/orders/[0-9a-f-]{36}$"))
    page.locator(".fx-order-status").get_by_text("已付款").wait_for()
    assert stack.sim_url not in page.url
    order_id = page.url.rsplit("/", 1)[1]
    order = api.get(f"/api/orders/{order_id}/", headers=staff).json()
    assert (order["amount"], order["discount"], order["status"]) == ("0", "299", "completed")
    snap(page, tmp_path, "k2-coupon-paid")
