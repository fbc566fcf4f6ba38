"""Issue #18, the staff back office in Chromium: find a customer by the start of their e-mail,
open their page at its own URL, refund part of an order (a refused amount shows the API's
message first), send the invoice e-mail again, and download the accountants' CSV. Screenshots
in zh-TW and English at 390 and 1280 px are kept in test-artifacts/ui/staff-customers/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.stack import Stack, wait_until
from tests.e2e.ui.conftest import ARTIFACTS
from tests.e2e.ui.test_ui_flows import (
    PASSWORD,
    click,
    fill,
    log_in,
    new_name,
    pay_by_api,
    register_by_api,
)
from tests.e2e.ui.test_ui_phone_routing import snap
from tests.e2e.ui.test_ui_staff_queues import make_staff

pytestmark = pytest.mark.e2e
SHOTS = ARTIFACTS / "staff-customers"


def _staff_api(stack: Stack, username: str) -> tuple[httpx.Client, dict[str, str]]:
    api = httpx.Client(base_url=stack.api_url, timeout=10)
    token = api.post("/api/auth/login/", json={"username": username, "password": PASSWORD})
    return api, {"Authorization": f"Bearer {token.json()['access']}"}


def test_staff_find_a_customer_open_their_page_refund_resend_and_export(
    stack: Stack, page: Any,
) -> None:
    staff, customer = new_name("desk"), new_name("kuo")
    register_by_api(stack, staff)
    register_by_api(stack, customer)
    make_staff(stack, staff)
    order = pay_by_api(stack, customer, "pro-monthly", paid=True)
    number = order["order_number"]

    # A customer who types the URL gets nothing.
    log_in(page, stack, customer)
    page.goto(stack.ui_url + "/staff/customers?q=desk")
    page.get_by_text("此頁面僅限管理人員。").wait_for()
    click(page, "fx-nav-logout")
    page.locator(".fx-login").wait_for()

    log_in(page, stack, staff)
    click(page, "fx-nav-staff")
    click(page, "fx-to-customers")
    page.wait_for_url(stack.ui_url + "/staff/customers")
    fill(page, "fx-customer-q", customer[:8])
    click(page, "fx-customer-search")
    page.wait_for_url(re.compile(r"/staff/customers\?q="))
    page.locator(".fx-customer-row").get_by_text(f"{customer}@example.tw").wait_for()
    snap(page, SHOTS, "c1-search")

    # The CSV for accountants: UTF-8 with the BOM Excel needs, this month's invoice in it.
    with page.expect_download() as caught:
        click(page, "fx-export-csv")
    csv_bytes = Path(caught.value.path()).read_bytes()
    assert csv_bytes.startswith(b"\xef\xbb\xbf")
    assert number in csv_bytes.decode("utf-8-sig")

    click(page, "fx-customer-open")
    page.wait_for_url(re.compile(r"/staff/customers/[0-9a-f-]{36}$"))
    customer_url = page.url
    card = page.locator(f".fx-order-{number}")
    card.get_by_text("NT$990").first.wait_for()
    page.locator(".fx-customer-emails").get_by_text("payment_confirmation").wait_for()
    snap(page, SHOTS, "c2-customer")
    page.reload()  # the page's own URL survives a refresh
    page.locator(f".fx-order-{number}").wait_for()
    assert page.url == customer_url

    # Refund: more than was paid is refused, and the API's message is shown in the form.
    card = page.locator(f".fx-order-{number}")
    card.locator(".fx-refund button").click()
    card.locator(".fx-refund-amount input").fill("5000")
    card.locator(".fx-refund-reason input").fill("客戶要求部分退款")
    card.locator(".fx-refund-next button").click()
    card.locator(".fx-refund-question").get_by_text("確定退款 NT$5000").wait_for()
    card.locator(".fx-refund-confirm button").click()
    card.locator(".fx-action-error").get_by_text("Only NT$990 of NT$990 is left to refund.",
                                                 exact=False).wait_for()
    card.locator(".fx-error-amount").get_by_text("at most 990").wait_for()
    card.locator(".fx-refund-amount input").fill("300")
    card.locator(".fx-refund-next button").click()
    card.locator(".fx-refund-question").get_by_text("確定退款 NT$300").wait_for()
    page.screenshot(path=str(SHOTS / "c3-refund-confirm-zh-phone.png"), full_page=True)
    card.locator(".fx-refund-confirm button").click()
    page.locator(".fx-alert-success").get_by_text("已建立退款 NT$300").wait_for()

    api, auth = _staff_api(stack, staff)
    refunds = api.get(f"/api/orders/{order['id']}/refunds/", headers=auth).json()
    assert [r["amount"] for r in refunds["results"]] == ["300"]  # once, whatever the retries
    page.locator(".fx-customer-refund").get_by_text("NT$300").wait_for()
    # The order was paid through the development path, so ECPay holds no card authorization
    # for it: the refund fails at once, and staff read why (and what to do) on the page.
    wait_until(lambda: api.get(f"/api/orders/{order['id']}/refunds/", headers=auth)
               .json()["results"][0]["status"] == "failed", "the card refund failed", timeout=30)
    page.reload()
    why = page.locator(".fx-customer-refund .fx-refund-why")
    why.get_by_text("綠界最後回覆：", exact=False).wait_for()
    assert "Refund it by bank transfer instead." in why.inner_text()
    page.locator(".fx-customer-refund").get_by_text("失敗，需人工處理", exact=False).wait_for()

    # Resend the invoice e-mail: confirmed, queued, and on the customer's e-mail list.
    page.locator(".fx-customer-invoice .fx-resend-invoice button").first.click()
    page.locator(".fx-resend-invoice-question").get_by_text(f"{customer}@example.tw").wait_for()
    page.locator(".fx-resend-invoice-confirm button").first.click()
    page.locator(".fx-alert-success").get_by_text(f"已排入寄送：{customer}@example.tw").wait_for()
    wait_until(lambda: [m["template"] for m in api.get(
        f"/api/users/{order['user_id']}/history/", headers=auth).json()["emails"]
    ].count("payment_confirmation") == 2, "the resent invoice e-mail recorded", timeout=30)
    history = api.get(f"/api/users/{order['user_id']}/history/", headers=auth).json()
    assert "invoice_resend" in {a["action"] for a in history["audit"]}
    snap(page, SHOTS, "c4-after-refund")
