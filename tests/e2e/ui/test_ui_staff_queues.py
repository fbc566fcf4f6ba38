"""Issue #18, staff queues as pages: /staff/reviews resolves a parked payment with a decision
and a note (checked through the API), /staff/einvoices sends a refused e-invoice again.
Real Chromium against the real stack; review items and e-invoices seeded in the database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session

from services.core.db.models import EInvoice, PaymentReview, User
from tests.e2e.stack import Stack, wait_until
from tests.e2e.ui.test_ui_einvoices import _sale
from tests.e2e.ui.test_ui_flows import PASSWORD, click, fill, log_in, new_name, register_by_api
from tests.e2e.ui.test_ui_phone_routing import snap

pytestmark = pytest.mark.e2e


def make_staff(stack: Stack, username: str) -> None:
    engine = create_engine(stack.database_url)
    with engine.begin() as connection:
        connection.execute(update(User).where(User.username == username).values(is_staff=True))
    engine.dispose()


def park_payment(stack: Stack) -> str:
    trade_no = f"FX{uuid.uuid4().hex[:12].upper()}"
    engine = create_engine(stack.database_url)
    try:
        with Session(engine) as session:
            row = PaymentReview(source_key=f"test:{trade_no}", reason="unknown_order",
                                status="open", amount=Decimal(990), merchant_trade_no=trade_no,
                                gateway_trade_no="2612071234567890",
                                detail="Signed by our key, names no order of ours.",
                                arrived_at=datetime.now(UTC))
            session.add(row)
            session.commit()
            return str(row.id)
    finally:
        engine.dispose()


def test_staff_resolve_a_parked_payment_and_send_a_failed_einvoice_again(
    stack: Stack, page: Any, tmp_path: Path
) -> None:
    staff, customer = new_name("ops"), new_name("buyer")
    register_by_api(stack, staff)
    register_by_api(stack, customer)
    make_staff(stack, staff)
    review_id = park_payment(stack)
    _sale(stack, customer, "failed", "ecpay_refused")

    # A customer who types the URL gets no queue.
    log_in(page, stack, customer)
    page.goto(stack.ui_url + "/staff/reviews")
    page.get_by_text("此頁面僅限管理人員。").wait_for()
    click(page, "fx-nav-logout")
    page.locator(".fx-login").wait_for()

    log_in(page, stack, staff)
    click(page, "fx-nav-staff")
    click(page, "fx-to-reviews")
    page.wait_for_url(stack.ui_url + "/staff/reviews")
    item = page.locator(f".fx-review-{review_id[:8]}")
    item.get_by_text("找不到對應訂單").wait_for()
    item.get_by_text("NT$990").wait_for()
    snap(page, tmp_path, "q1-review-queue")
    item.locator(".fx-review-decision select").select_option(label="需退款")
    click(page, "fx-review-resolve")  # no note: refused on the page
    item.locator(".fx-error-note").get_by_text("此欄位為必填").wait_for()
    fill(page, "fx-review-note", "Refund to the card by hand, ticket #42")
    click(page, "fx-review-resolve")
    page.locator(".fx-alert-success").get_by_text("已記錄處理結果。").wait_for()
    expect(page.locator(f".fx-review-{review_id[:8]}")).to_have_count(0)

    api = httpx.Client(base_url=stack.api_url, timeout=10)
    token = api.post("/api/auth/login/", json={"username": staff, "password": PASSWORD})
    resolved = api.get(f"/api/payment-reviews/{review_id}/", headers={
        "Authorization": f"Bearer {token.json()['access']}"}).json()
    assert resolved["status"] == "refund_needed"
    assert resolved["resolution_note"] == "Refund to the card by hand, ticket #42"

    page.goto(stack.ui_url + "/staff/einvoices")  # a bookmark of the queue
    failed = page.locator(".fx-failed-einvoice").first
    failed.wait_for()
    snap(page, tmp_path, "q2-einvoice-queue")
    number = failed.locator("dd").first.inner_text()
    click(page, "fx-einvoice-retry")
    page.locator(".fx-alert-success").get_by_text(f"已重新送出 {number} 的電子發票。").wait_for()
    # The worker sent it to ECPay (the simulator) again: one more attempt is recorded. (The
    # seeded sale has no lines, so ECPay may well refuse it again; the retry is what counts.)
    engine = create_engine(stack.database_url)
    try:
        def attempts() -> int:
            with Session(engine) as session:
                return session.scalars(select(EInvoice.attempts).where(
                    EInvoice.relate_number == number)).one()

        wait_until(lambda: attempts() > 0, f"another attempt at e-invoice {number}", timeout=60)
    finally:
        engine.dispose()
