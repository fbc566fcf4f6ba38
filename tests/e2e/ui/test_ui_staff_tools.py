"""Issue #18, the rest of the staff back office in Chromium: extend a customer's subscription
for free (a missing reason is asked for first, the confirmation names the new end), send the
payment confirmation again, export the orders of a range as CSV, requeue a job that really
failed in the stack's worker, and read the audit log by e-mail with names, not UUIDs.
Screenshots in zh-TW and English are kept in test-artifacts/ui/staff-tools/."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from rq import Queue

from tests.e2e.stack import Stack, wait_until
from tests.e2e.ui.conftest import ARTIFACTS
from tests.e2e.ui.test_ui_flows import click, fill, log_in, new_name, pay_by_api, register_by_api
from tests.e2e.ui.test_ui_phone_routing import snap
from tests.e2e.ui.test_ui_staff_customers import _staff_api
from tests.e2e.ui.test_ui_staff_queues import make_staff

pytestmark = pytest.mark.e2e
SHOTS = ARTIFACTS / "staff-tools"


def _failing_job(stack: Stack) -> str:
    """A job the stack's own worker runs and that fails for real (an unknown job name)."""
    queue = Queue("maintenance", connection=Redis.from_url(stack.redis_url))
    return str(queue.enqueue("services.worker.registry.spec", "no_such_job").id)


def test_staff_extend_resend_export_requeue_and_read_the_audit_log(
    stack: Stack, page: Any,
) -> None:
    staff, customer = new_name("desk"), new_name("wang")
    register_by_api(stack, staff)
    register_by_api(stack, customer)
    make_staff(stack, staff)
    order = pay_by_api(stack, customer, "pro-monthly", paid=True, trial_used=True)
    number, email = order["order_number"], f"{customer}@example.tw"
    api, auth = _staff_api(stack, staff)
    sub = api.get(f"/api/subscriptions/{order['subscription_id']}/", headers=auth).json()
    assert sub["status"] == "active", sub
    job_id = _failing_job(stack)

    log_in(page, stack, staff)
    page.goto(f"{stack.ui_url}/staff/customers/{order['user_id']}")
    row = page.locator(f".fx-sub-{sub['id'][:8]}")
    row.locator(".fx-extend button").click()
    row.locator(".fx-extend-days input").fill("10")
    row.locator(".fx-extend-next button").click()
    row.locator(".fx-error-reason").get_by_text("必填", exact=False).wait_for()
    row.locator(".fx-extend-reason input").fill("機房停電補償")
    row.locator(".fx-extend-next button").click()
    row.locator(".fx-extend-question").get_by_text("免費延長 10 天", exact=False).wait_for()
    page.screenshot(path=str(SHOTS / "t1-extend-confirm-zh-phone.png"), full_page=True)
    row.locator(".fx-extend-confirm button").click()
    page.locator(".fx-alert-success").get_by_text("已延長到", exact=False).wait_for()
    after = api.get(f"/api/subscriptions/{sub['id']}/", headers=auth).json()
    moved = datetime.fromisoformat(after["end_date"]) - datetime.fromisoformat(sub["end_date"])
    assert moved == timedelta(days=10)

    card = page.locator(f".fx-order-{number}")
    card.locator(".fx-resend-confirmation button").click()
    card.locator(".fx-resend-confirmation-question").get_by_text(email, exact=False).wait_for()
    card.locator(".fx-resend-confirmation-confirm button").click()
    page.locator(".fx-alert-success").get_by_text(f"已排入寄送：{email}").wait_for()

    page.goto(f"{stack.ui_url}/staff/customers")
    page.locator(".fx-export-kind select").select_option(label="訂單")
    with page.expect_download() as caught:
        click(page, "fx-export-csv")
    assert caught.value.suggested_filename.startswith("orders-")
    csv_bytes = Path(caught.value.path()).read_bytes()
    assert csv_bytes.startswith(b"\xef\xbb\xbf") and number in csv_bytes.decode("utf-8-sig")

    wait_until(lambda: job_id in {j["id"] for j in api.get(
        "/api/jobs/failed/", headers=auth).json()["results"]}, "the job failed", timeout=60)
    page.goto(f"{stack.ui_url}/staff/jobs")
    failed = page.locator(f".fx-job-{job_id[:8]}")
    failed.get_by_text("KeyError", exact=False).wait_for()
    snap(page, SHOTS, "t2-failed-jobs")
    failed = page.locator(f".fx-job-{job_id[:8]}")
    failed.locator(".fx-job-requeue button").click()
    failed.locator(".fx-requeue-question").get_by_text("maintenance", exact=False).wait_for()
    failed.locator(".fx-requeue-confirm button").click()
    page.locator(".fx-alert-success").get_by_text("重新排入 maintenance",
                                                  exact=False).wait_for()

    page.goto(f"{stack.ui_url}/staff")
    page.locator(".bk-tab", has_text="稽核紀錄").click()
    fill(page, "fx-audit-user", f"{staff}@example.tw")
    page.locator(".fx-audit-search button").click()
    audit = page.locator(".fx-staff-audit")
    audit.get_by_text("subscription_extended").first.wait_for()
    audit.get_by_text(f"{staff}@example.tw", exact=False).first.wait_for()
    audit.get_by_text("job_requeued").first.wait_for()
