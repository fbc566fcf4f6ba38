"""Issue #18 in Chromium: a staff list longer than the API's page of 100 pages on. 150 audit
rows of one action are written straight into the stack's database; the audit tab, filtered by
that action, shows 100 of them with "page 1 of 2", "next" shows the other 50 with the filter
kept, and "previous" goes back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, insert

from services.core.db.models import AuditLog
from tests.e2e.stack import Stack
from tests.e2e.ui.test_ui_flows import fill, log_in, new_name, register_by_api
from tests.e2e.ui.test_ui_staff_queues import make_staff

pytestmark = pytest.mark.e2e
ACTION = "paging_probe"


def _audit_rows(stack: Stack, count: int) -> None:
    start = datetime.now(UTC) - timedelta(hours=1)
    engine = create_engine(stack.database_url)
    with engine.begin() as connection:
        connection.execute(insert(AuditLog), [
            {"id": uuid.uuid4(), "action": ACTION, "resource_type": "probe",
             "resource_id": f"{n:03d}", "description": f"probe-{n:03d}",
             "created_at": start + timedelta(seconds=n), "meta": {}}
            for n in range(count)])
    engine.dispose()


def test_staff_page_through_an_audit_log_longer_than_one_page(
    stack: Stack, page: Any,
) -> None:
    staff = new_name("desk")
    register_by_api(stack, staff)
    make_staff(stack, staff)
    _audit_rows(stack, 150)

    log_in(page, stack, staff)
    page.goto(f"{stack.ui_url}/staff")
    page.locator(".bk-tab", has_text="稽核紀錄").click()
    fill(page, "fx-audit-action", ACTION)
    page.locator(".fx-audit-search button").click()
    audit, rows = page.locator(".fx-staff-audit"), page.locator(".fx-staff-audit tbody tr")
    audit.get_by_text("probe-149").wait_for()  # newest first
    page.locator(".fx-audit-page").get_by_text("第 1 頁，共 2 頁").wait_for()
    assert rows.count() == 100
    assert page.locator(".fx-audit-prev").count() == 0

    page.locator(".fx-audit-next button").click()
    page.locator(".fx-audit-page").get_by_text("第 2 頁，共 2 頁").wait_for()
    audit.get_by_text("probe-000").wait_for()
    assert rows.count() == 50
    assert audit.get_by_text("probe-149").count() == 0
    assert page.locator(".fx-audit-next").count() == 0

    page.locator(".fx-audit-prev button").click()
    page.locator(".fx-audit-page").get_by_text("第 1 頁，共 2 頁").wait_for()
    audit.get_by_text("probe-149").wait_for()
    assert rows.count() == 100
