"""Issue #18, phone and routing: the dashboard at 390×844 (viewport, type sizes, tap targets,
tables as lists, payment codes to type from), and every page at its own URL (refresh, Back,
bookmarks, the gateway's return, a chosen plan kept across logging in). Real Chromium against
the real stack; screenshots in zh-TW and English at phone and desktop width under tmp_path."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.stack import Stack
from tests.e2e.ui.test_ui_flows import (
    PASSWORD,
    check_out,
    click,
    fill,
    log_in,
    new_name,
    open_plans,
    pay_by_api,
    register_by_api,
)

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
ORDER_URL = r"/orders/[0-9a-f-]{36}$"


def snap(page: Any, folder: Path, name: str,
         again: Callable[[], None] | None = None) -> None:
    """zh-TW and English shots of the page as it is, at phone and desktop width.

    Switching language renders the page afresh: `again` restores what a click had opened.
    """
    folder.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    for language in ("zh", "en"):
        if language == "en":
            page.locator(".fx-language select").select_option(label="English")
            page.locator(".fx-nav-logout, .fx-nav-login").get_by_text(
                re.compile("^Log (out|in)$")).first.wait_for()
            expect(page.locator(".pn-loading")).to_have_count(0)  # the page drawn again
            if again is not None:
                again()
        for width, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            page.set_viewport_size(viewport)
            page.screenshot(path=str(folder / f"{name}-{language}-{width}.png"), full_page=True)
    page.locator(".fx-language select").select_option(label="繁體中文")
    page.locator(".fx-nav-logout, .fx-nav-login").get_by_text(
        re.compile("^登(出|入)$")).first.wait_for()
    expect(page.locator(".pn-loading")).to_have_count(0)
    page.set_viewport_size(size)
    if again is not None:
        again()


@pytest.fixture
def phone(browser: Any) -> Any:
    context = browser.new_context(viewport=PHONE, locale="zh-TW", device_scale_factor=1)
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()


def px(page: Any, css: str, prop: str) -> float:
    value = page.locator(css).first.evaluate(
        f"e => getComputedStyle(e).getPropertyValue('{prop}')")
    return float(value.removesuffix("px"))


def test_at_phone_width_the_atm_code_is_readable_and_everything_fits(
    stack: Stack, phone: Any, tmp_path: Path
) -> None:
    username = new_name("phone")
    register_by_api(stack, username)
    log_in(phone, stack, username)
    # A real viewport: the layout is as wide as the phone, not 980 px shrunk to fit.
    meta = phone.locator("meta[name=viewport]").get_attribute("content")
    assert "width=device-width" in meta
    assert phone.evaluate("document.documentElement.clientWidth") == PHONE["width"]
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    open_plans(phone)
    click(phone, "fx-choose-starter-monthly")
    phone.locator(".fx-checkout-summary").wait_for()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    snap(phone, tmp_path, "p0-checkout", again=lambda: phone.locator(".fx-method").wait_for())
    phone.locator(".fx-method button", has_text="ATM 轉帳").click()
    click(phone, "fx-checkout")
    phone.wait_for_url(re.compile("^" + re.escape(stack.sim_url)))
    phone.get_by_role("button", name=re.compile("Get ATM code")).click()
    phone.get_by_role("link", name=re.compile("Back to shop")).click()
    phone.wait_for_url(re.compile(re.escape(stack.ui_url) + ORDER_URL))
    code = phone.locator(".fx-payment-code")
    code.get_by_text(re.compile("等待您的 ATM 轉帳，期限至 \\d{4}-\\d{2}-\\d{2}")).wait_for(
        timeout=60_000)
    bank = code.locator(".coderow", has_text="銀行代碼")
    bank.locator(".code").get_by_text(re.compile(r"^\d{3}$")).wait_for()
    bank.locator(".note").get_by_text(re.compile(r"^\S+銀行$")).wait_for()  # name beside code
    assert px(phone, ".fx-payment-code .code", "font-size") >= 16
    copy = code.locator("button.fx-copy").first
    assert copy.bounding_box()["height"] >= 44
    # The copy button puts the virtual account number on the clipboard, ready to paste.
    phone.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.ui_url)
    account = code.locator(".coderow", has_text="繳費帳號")
    number = account.locator(".code").inner_text()
    account.locator("button.fx-copy").click()
    account.locator("button.fx-copy").get_by_text("已複製").wait_for()
    assert phone.evaluate("navigator.clipboard.readText()") == number
    for css in (".fx-nav-dashboard button", ".fx-order-refresh button"):
        box = phone.locator(css).first.bounding_box()
        assert box["height"] >= 44, (css, box)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    snap(phone, tmp_path, "p1-order-atm")

    click(phone, "fx-nav-dashboard")
    orders = phone.locator(".fx-recent-orders")
    orders.locator("td").first.wait_for()
    # Tables become lists: no header row, each cell labelled, nothing wider than the phone.
    assert orders.locator("thead").first.is_hidden()
    assert orders.locator("td").first.evaluate(
        "e => getComputedStyle(e, '::before').content").strip('"') == "訂單編號"
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    snap(phone, tmp_path, "p2-dashboard")


def test_every_page_has_its_url_refresh_back_and_bookmarks_work(
    stack: Stack, page: Any, tmp_path: Path
) -> None:
    username = new_name("url")
    register_by_api(stack, username)
    paid = pay_by_api(stack, username, "pro-monthly", paid=True)
    log_in(page, stack, username)
    assert page.url.rstrip("/") == stack.ui_url

    click(page, "fx-nav-orders")
    page.wait_for_url(stack.ui_url + "/orders")
    click(page, f"fx-order-{paid['order_number']}")
    page.wait_for_url(f"{stack.ui_url}/orders/{paid['id']}")
    page.locator(".fx-order-card").get_by_text(paid["order_number"]).wait_for()
    # Refresh shows the same order.
    page.reload()
    page.locator(".fx-order-card").get_by_text(paid["order_number"]).wait_for()

    click(page, "fx-nav-account")
    page.wait_for_url(stack.ui_url + "/account")
    page.locator(".fx-page-account").wait_for()
    page.go_back()  # Back returns to the order, in the same session
    page.wait_for_url(f"{stack.ui_url}/orders/{paid['id']}")
    page.locator(".fx-order-card").get_by_text(paid["order_number"]).wait_for()
    page.go_forward()
    page.locator(".fx-page-account").wait_for()

    click(page, "fx-nav-invoices")
    page.wait_for_url(stack.ui_url + "/invoices")
    page.locator(".fx-page-invoices button").first.click()
    page.wait_for_url(re.compile(re.escape(stack.ui_url) + r"/invoices/[0-9a-f-]{36}$"))
    invoice_url = page.url
    page.locator(".fx-invoice-card").wait_for()

    # A bookmark opened in a fresh browser: log in first, then that very page.
    other = page.context.browser.new_context(viewport=DESKTOP, locale="zh-TW")
    tab = other.new_page()
    tab.set_default_timeout(20_000)
    tab.goto(invoice_url)
    tab.locator(".fx-login").wait_for()
    assert "/login?next=" in tab.url
    fill(tab, "fx-login", username)
    fill(tab, "fx-password", PASSWORD)
    click(tab, "fx-login-submit")
    tab.wait_for_url(invoice_url)
    tab.locator(".fx-invoice-card").wait_for()
    other.close()
    snap(page, tmp_path, "r1-invoice-by-url")


def test_the_gateway_returns_to_the_paid_order_and_back_lands_on_it(
    stack: Stack, page: Any
) -> None:
    username = new_name("ret")
    register_by_api(stack, username)
    older = pay_by_api(stack, username, "starter-monthly", paid=False)  # an unrelated order
    log_in(page, stack, username)
    open_plans(page)
    check_out(page, stack, "pro-monthly", "信用卡")
    page.get_by_role("button", name=re.compile("Pay by card")).click()
    page.wait_for_url(re.compile(re.escape(stack.ui_url) + ORDER_URL))
    paid_url = page.url
    assert older["id"] not in paid_url
    page.locator(".fx-order-status").get_by_text("已付款").wait_for(timeout=60_000)
    click(page, "fx-nav-dashboard")
    page.wait_for_url(stack.ui_url + "/")
    page.go_back()
    page.wait_for_url(paid_url)
    page.locator(".fx-order-status").get_by_text("已付款").wait_for()


def test_a_visitor_who_chose_a_plan_returns_to_its_checkout_after_logging_in(
    stack: Stack, page: Any
) -> None:
    username = new_name("visit")
    register_by_api(stack, username)
    page.goto(stack.ui_url + "/plans")
    page.locator(".fx-plan-pro-monthly").wait_for()
    click(page, "fx-choose-pro-monthly")
    page.locator(".fx-login").wait_for()
    fill(page, "fx-login", username)
    fill(page, "fx-password", PASSWORD)
    click(page, "fx-login-submit")
    page.wait_for_url(stack.ui_url + "/plans?plan=pro-monthly")
    page.locator(".fx-checkout-summary").get_by_text("今天收費 NT$990").wait_for()
    page.locator(".fx-checkout button").wait_for()
