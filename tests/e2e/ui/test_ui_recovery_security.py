"""Issue #18, account recovery and the dashboard's own security: the e-mailed verification
and reset links open working pages, "forgot password" from the login page; every response
carries the security headers, the session id changes at login and logout, and an id the
server did not issue (or issued before a login) is refused. Real Chromium, real stack,
real SMTP server."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.stack import Stack, wait_until
from tests.e2e.ui.test_ui_flows import (
    PASSWORD,
    click,
    fill,
    log_in,
    new_name,
    register_by_api,
)
from tests.e2e.ui.test_ui_phone_routing import snap
from tests.support.smtp import Inbox

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "Alishan-sunrise-2026"


def mailed_link(inbox: Inbox, address: str, path: str) -> str:
    pattern = re.compile(r"https?://\S+/" + path + r"\?token=[\w\-.~%]+")
    return wait_until(
        lambda: next((m.group(0) for text in reversed(inbox.texts_to(address))
                      if (m := pattern.search(text))), None),
        f"a {path} link mailed to {address}", timeout=60,
    )


def sid(page: Any) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "fluxus_sid")


def test_the_mailed_verification_link_verifies_the_address(
    stack: Stack, page: Any, inbox: tuple[Inbox, int], tmp_path: Path
) -> None:
    username = new_name("verify")
    register_by_api(stack, username)
    link = mailed_link(inbox[0], f"{username}@example.tw", "verify-email")
    assert link.startswith(stack.ui_url + "/verify-email?token=")
    page.goto(link)
    page.locator(".fx-verify-ok").get_by_text("您的電子郵件已完成驗證。").wait_for()
    page.wait_for_url(stack.ui_url + "/verify-email")  # the spent token left the address bar
    snap(page, tmp_path, "s1-verified")
    page.locator(".fx-verify-ok").get_by_text("您的電子郵件已完成驗證。").wait_for()
    api = httpx.Client(base_url=stack.api_url, timeout=10)
    access = api.post("/api/auth/login/", json={"username": username, "password": PASSWORD})
    me = api.get("/api/users/me/", headers={"Authorization": f"Bearer {access.json()['access']}"})
    assert me.json()["is_verified"] is True
    page.goto(link)  # a used link says so rather than a bare 404
    page.locator(".fx-verify-failed").get_by_text("此驗證連結無效或已使用過。").wait_for()


def test_forgot_password_from_the_login_page_then_the_mailed_link_sets_a_new_one(
    stack: Stack, page: Any, inbox: tuple[Inbox, int], tmp_path: Path
) -> None:
    username = new_name("forgot")
    register_by_api(stack, username)
    page.goto(stack.ui_url + "/")
    click(page, "fx-to-forgot")
    page.wait_for_url(stack.ui_url + "/forgot-password")
    fill(page, "fx-forgot-email", f"{username}@example.tw")
    click(page, "fx-forgot-submit")
    page.locator(".fx-alert-success").get_by_text(re.compile("重設連結已寄出")).wait_for()
    snap(page, tmp_path, "s2-forgot")

    link = mailed_link(inbox[0], f"{username}@example.tw", "reset-password")
    assert link.startswith(stack.ui_url + "/reset-password?token=")
    page.goto(link)
    fill(page, "fx-reset-password", NEW_PASSWORD)
    fill(page, "fx-reset-password2", NEW_PASSWORD + "x")
    click(page, "fx-reset-submit")
    page.locator(".fx-error-password2").get_by_text("兩次輸入的密碼不一致").wait_for()
    fill(page, "fx-reset-password2", NEW_PASSWORD)
    click(page, "fx-reset-submit")
    page.locator(".fx-alert-success").get_by_text("密碼已重設，請以新密碼登入。").wait_for()
    page.wait_for_url(stack.ui_url + "/login")
    fill(page, "fx-login", username)
    fill(page, "fx-password", NEW_PASSWORD)
    click(page, "fx-login-submit")
    page.locator(".fx-page-dashboard").wait_for()


def test_responses_carry_the_security_headers_and_the_page_obeys_its_policy(
    stack: Stack, page: Any
) -> None:
    for path in ("/", "/orders", "/login"):
        response = httpx.get(stack.ui_url + path)
        assert response.status_code == 200
        headers = response.headers
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert f"form-action 'self' {stack.sim_url}" in csp
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text)
            if "Content Security Policy" in m.text else None)
    username = new_name("csp")
    register_by_api(stack, username)
    log_in(page, stack, username)
    click(page, "fx-nav-plans")
    page.locator(".fx-plan-pro-monthly").wait_for()
    assert violations == [], violations


def test_the_session_id_changes_at_login_and_logout_and_old_ids_are_refused(
    stack: Stack, page: Any, browser: Any
) -> None:
    username = new_name("sid")
    register_by_api(stack, username)
    page.goto(stack.ui_url + "/")
    page.locator(".fx-login").wait_for()
    before = sid(page)
    fill(page, "fx-login", username)
    fill(page, "fx-password", PASSWORD)
    click(page, "fx-login-submit")
    page.locator(".fx-page-dashboard").wait_for()
    during = sid(page)
    assert during != before

    def visit_with(cookie: str) -> tuple[Any, Any]:
        context = browser.new_context(locale="zh-TW")
        context.add_cookies([{"name": "fluxus_sid", "value": cookie, "url": stack.ui_url}])
        tab = context.new_page()
        tab.set_default_timeout(20_000)
        tab.goto(stack.ui_url + "/account")
        return context, tab

    # Someone who saw the id before the login (a shared computer) gets nothing from it.
    context, tab = visit_with(before)
    tab.locator(".fx-login").wait_for()
    expect(tab.locator(".fx-page-account")).to_have_count(0)
    assert sid(tab) != before
    context.close()
    # A made-up id, or a real one without the server's signature, is replaced too.
    for forged in ("attacker-chosen-id", during.split("|")[-1]):
        context, tab = visit_with(forged)
        tab.locator(".fx-login").wait_for()
        assert sid(tab) != forged
        context.close()
    # The signed id of the login works in another tab of the same browser.
    second = page.context.new_page()
    second.goto(stack.ui_url + "/account")
    second.locator(".fx-page-account").wait_for()
    second.close()

    click(page, "fx-nav-logout")
    page.wait_for_url(stack.ui_url + "/login")
    page.locator(".fx-login").wait_for()
    after = sid(page)
    assert after not in (before, during)
    context, tab = visit_with(during)  # the logged-in id is dead after logout
    tab.locator(".fx-login").wait_for()
    expect(tab.locator(".fx-page-account")).to_have_count(0)
    context.close()
