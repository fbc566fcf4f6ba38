"""Issue #21, the staff test-clock page in Chromium, on a stack started with
FLUXUS_TEST_CLOCKS=1: create a clock, be refused an earlier time by the page and a too-far one
by the API (its message shown), put a test customer on it who can then log in, advance it a
month and see the worker's advance land, and delete it after a confirmation. Screenshots in
zh-TW and English at 390 and 1280 px are kept in test-artifacts/ui/test-clocks/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.stack import Stack, running_stack, wait_until
from tests.e2e.ui.conftest import ARTIFACTS
from tests.e2e.ui.test_ui_flows import PASSWORD, click, fill, log_in, new_name, register_by_api
from tests.e2e.ui.test_ui_phone_routing import snap
from tests.e2e.ui.test_ui_staff_queues import make_staff

pytestmark = pytest.mark.e2e
SHOTS = ARTIFACTS / "test-clocks"


@pytest.fixture(scope="module")
def stack(pg_template: str, private_redis: str, smtp_port: int, workdir: Path,
          request: pytest.FixtureRequest) -> Iterator[Stack]:
    """The UI conftest's stack, with test clocks on in every process (a stage merchant)."""
    logs = ARTIFACTS / "logs" / request.module.__name__.rsplit(".", 1)[-1]
    with running_stack(template=pg_template, redis_url=private_redis, smtp_port=smtp_port,
                       workdir=workdir, logs=logs, with_ui=True,
                       extra_env={"FLUXUS_TEST_CLOCKS": "1"}) as running:
        yield running


def _clock(api: httpx.Client, auth: dict[str, str], name: str) -> dict[str, Any]:
    clocks = api.get("/api/test-clocks/", headers=auth).json()["results"]
    return next(c for c in clocks if c["name"] == name)


def test_staff_create_advance_populate_and_delete_a_test_clock(stack: Stack, page: Any) -> None:
    staff, tester = new_name("clockdesk"), new_name("tc")
    register_by_api(stack, staff)
    make_staff(stack, staff)
    api = httpx.Client(base_url=stack.api_url, timeout=10)
    token = api.post("/api/auth/login/", json={"username": staff, "password": PASSWORD})
    auth = {"Authorization": f"Bearer {token.json()['access']}"}

    log_in(page, stack, staff)
    click(page, "fx-nav-staff")
    click(page, "fx-to-test-clocks")
    page.wait_for_url(stack.ui_url + "/staff/test-clocks")
    page.locator(".fx-clocks-none").wait_for()

    # Create: a name is required; the clock starts now, ready, without customers.
    click(page, "fx-clock-create")
    page.locator(".fx-error-name").get_by_text("此欄位為必填").wait_for()
    fill(page, "fx-clock-name", "月繳續訂")
    click(page, "fx-clock-create")
    page.locator(".fx-alert-success").get_by_text("已建立測試時鐘 月繳續訂。").wait_for()
    card = page.locator(".fx-clock").filter(has_text="月繳續訂")
    card.get_by_text("就緒").wait_for()
    made = _clock(api, auth, "月繳續訂")
    assert made["status"] == "ready" and made["customers"] == 0

    # Backwards is refused by the page (the API never asked); too far by the API, in its words.
    fill(page, "fx-clock-advance-to", "2020-01-01 09:00")
    click(page, "fx-clock-advance")
    card.locator(".fx-error-frozen_time").get_by_text("測試時鐘只能往後推進").wait_for()
    fill(page, "fx-clock-advance-to", "2035-01-01 09:00")
    click(page, "fx-clock-advance")
    card.locator(".fx-error").get_by_text("advance at most two years at a time").wait_for()
    assert _clock(api, auth, "月繳續訂")["frozen_time"] == made["frozen_time"]

    # A test customer on the clock, who can log in like anyone.
    click(page, "fx-clock-customer-open")
    fill(page, "fx-clock-username", tester)
    fill(page, "fx-clock-email", f"{tester}@example.tw")
    page.locator(".fx-clock-password input").fill(PASSWORD)
    click(page, "fx-clock-customer-add")
    page.locator(".fx-alert-success").get_by_text(f"已在時鐘 月繳續訂 上建立測試客戶 "
                                                  f"{tester}@example.tw").wait_for()
    card = page.locator(".fx-clock").filter(has_text="月繳續訂")
    card.locator("dd").get_by_text("1", exact=True).wait_for()  # its customer count
    login = httpx.post(f"{stack.api_url}/api/auth/login/",
                       json={"username": tester, "password": PASSWORD})
    assert login.status_code == 200, login.text
    snap(page, SHOTS, "t1-clock")

    # Advance a month (the suggested time): the worker steps it there, the page shows it.
    target = card.locator(".fx-clock-advance-to input").input_value()
    click(page, "fx-clock-advance")
    page.locator(".fx-alert-success").get_by_text(f"正在推進至 {target}").wait_for()
    wait_until(lambda: _clock(api, auth, "月繳續訂")["status"] == "ready",
               "the advance job finished", timeout=60)
    click(page, "fx-clocks-refresh")
    card = page.locator(".fx-clock").filter(has_text="月繳續訂")
    card.locator("dd").get_by_text(target, exact=True).wait_for()
    card.get_by_text("就緒").wait_for()

    # Delete: asked first (Back keeps it), then gone, its customer deactivated.
    click(page, "fx-clock-delete")
    page.locator(".fx-clock-delete-question").get_by_text(
        "確定刪除測試時鐘 月繳續訂？它的 1 位測試客戶將被停用").wait_for()
    snap(page, SHOTS, "t2-delete-question", again=lambda: click(page, "fx-clock-delete"))
    click(page, "fx-clock-delete-back")
    page.locator(".fx-clock-delete-question").wait_for(state="detached")
    click(page, "fx-clock-delete")
    click(page, "fx-clock-delete-confirm")
    page.locator(".fx-alert-success").get_by_text("已刪除測試時鐘 月繳續訂。").wait_for()
    page.locator(".fx-clocks-none").wait_for()
    assert api.get("/api/test-clocks/", headers=auth).json()["results"] == []
    refused = httpx.post(f"{stack.api_url}/api/auth/login/",
                         json={"username": tester, "password": PASSWORD})
    assert refused.status_code != 200
