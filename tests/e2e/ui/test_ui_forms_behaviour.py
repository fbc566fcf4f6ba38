"""Issue #18, the "Forms" wall in a real Chromium against the real stack: Enter submits the
login form; a success banner from an earlier action never stands beside a later refusal
("密碼已變更" beside "帳號或密碼錯誤", "已儲存" above a failed save, the 統編 checksum's
refusal among them); the register form shows every problem at once. Each state is kept as
screenshots in zh-TW and English at 390 and 1280 px under test-artifacts/ui/forms."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.stack import Stack
from tests.e2e.ui.conftest import ARTIFACTS
from tests.e2e.ui.test_ui_flows import PASSWORD, click, fill, log_in, new_name, register_by_api
from tests.e2e.ui.test_ui_phone_routing import snap

pytestmark = pytest.mark.e2e

SHOTS = ARTIFACTS / "forms"
NEW_PASSWORD = "Keelung-harbour-2026"


def press_enter(page: Any, css: str) -> None:
    page.locator(f".{css} input").press("Enter")


def error(page: Any, field: str) -> Any:
    return page.locator(f".fx-error-{field}")


def shown(locator: Any) -> None:
    """Wait for some text in either language (the shots redo each state in English)."""
    locator.get_by_text(re.compile(r"\S")).first.wait_for()


def test_enter_logs_in_and_a_wrong_password_after_a_change_shows_only_the_refusal(
    stack: Stack, page: Any
) -> None:
    username = new_name("enter")
    register_by_api(stack, username)
    page.goto(stack.ui_url + "/login")
    fill(page, "fx-login", username)
    fill(page, "fx-password", PASSWORD)
    press_enter(page, "fx-password")  # no click: Enter alone signs in
    page.locator(".fx-page-dashboard").wait_for()

    click(page, "fx-nav-account")
    fill(page, "fx-old-password", PASSWORD)
    fill(page, "fx-new-password", NEW_PASSWORD)
    click(page, "fx-password-change")
    page.locator(".fx-alert-success").get_by_text("密碼已變更").wait_for()

    def wrong_password() -> None:
        fill(page, "fx-login", username)
        fill(page, "fx-password", PASSWORD)  # the old one
        press_enter(page, "fx-login")  # Enter in the username box submits too
        shown(page.locator(".fx-error"))

    wrong_password()
    expect(page.locator(".fx-error")).to_have_text("帳號或密碼錯誤")
    expect(page.locator(".fx-alert-success")).to_have_count(0)
    snap(page, SHOTS, "f1-wrong-password-after-change", again=wrong_password)

    page.goto(stack.ui_url + "/login")
    fill(page, "fx-login", username)
    fill(page, "fx-password", NEW_PASSWORD)
    press_enter(page, "fx-password")
    page.locator(".fx-page-dashboard").wait_for()


def test_a_failed_save_clears_the_saved_banner_and_names_the_tax_id_typo(
    stack: Stack, page: Any
) -> None:
    username = new_name("save")
    register_by_api(stack, username)
    log_in(page, stack, username)
    click(page, "fx-nav-account")
    fill(page, "fx-company_name", "林記茶行")
    fill(page, "fx-tax_id", "24549210")
    click(page, "fx-profile-save")
    page.locator(".fx-alert-success").get_by_text("已儲存").wait_for()

    def typo() -> None:
        fill(page, "fx-tax_id", "24549211")  # one digit off: the checksum fails
        click(page, "fx-profile-save")
        shown(error(page, "tax_id"))

    typo()
    expect(error(page, "tax_id")).to_contain_text("此統一編號不存在")
    expect(page.locator(".fx-alert-success")).to_have_count(0)
    snap(page, SHOTS, "f2-failed-save", again=typo)


def test_the_register_form_shows_every_problem_at_once(stack: Stack, page: Any) -> None:
    page.goto(stack.ui_url + "/register")
    page.locator(".fx-username").wait_for()

    click(page, "fx-register-submit")  # all empty
    for field in ("username", "email", "password", "password2"):
        error(page, field).get_by_text("此欄位為必填").wait_for()

    def bad_form(enter: bool = True) -> None:
        fill(page, "fx-username", "a b")
        fill(page, "fx-email", "not-an-address")
        fill(page, "fx-password", "password123")
        fill(page, "fx-password2", "password124")
        if enter:
            press_enter(page, "fx-password2")  # Enter submits the register form too
        else:
            click(page, "fx-register-submit")
        shown(error(page, "password2"))

    bad_form()
    expect(error(page, "username")).to_contain_text("使用者名稱只能包含")
    # one answer, every field: nothing waits for the first batch to be fixed
    expect(error(page, "email")).to_contain_text("電子郵件格式不正確")
    expect(error(page, "password")).to_contain_text("這個密碼太常見了")
    expect(error(page, "password2")).to_contain_text("兩次輸入的密碼不一致")
    # Redrawn for each language's shot: the button restores the state (Enter is proven above;
    # once, on a loaded CI machine, an Enter right after the redraw was lost).
    snap(page, SHOTS, "f3-register-all-errors", again=lambda: bad_form(enter=False))
