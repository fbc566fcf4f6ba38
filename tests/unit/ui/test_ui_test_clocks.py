"""The staff test-clock page's store and formatting (#21): clocks read from the API's own
shapes, the Taipei times staff type, the forward-only check made before asking the API, the
403 that says clocks are off, and the page's URL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fluxus_ui.client import ApiClient, Credentials
from fluxus_ui.errors import ApiError
from fluxus_ui.i18n import translate
from fluxus_ui.pages.test_clocks import TestClocksView
from fluxus_ui.routes import SERVED, parse, url_for
from fluxus_ui.stores.test_clocks import (
    DISABLED,
    STATUSES,
    TestClock,
    TestClockStore,
    advance_problem,
    next_month,
    parse_taipei,
    taipei_text,
)

pytestmark = pytest.mark.unit

CLOCK_ID = "6f1c2a3b-0000-4000-8000-00000000c10c"
# A clock as services/api/resources/test_clocks/schemas.py serialises it.
CLOCK = {"id": CLOCK_ID, "name": "Yearly renewals", "frozen_time": "2027-01-31T01:30:00+00:00",
         "status": "failed", "advancing_to": None, "steps": 3,
         "last_error": "ECPay simulator unreachable", "customers": 2,
         "created_at": "2026-12-07T02:00:00+00:00"}


def _store(handler: Any) -> TestClockStore:
    client = ApiClient("http://api.test", "http://pay.test",
                       credentials=Credentials("access", "refresh"),
                       transport=httpx.MockTransport(handler))
    return TestClockStore(client)


@pytest.mark.asyncio
async def test_the_list_reads_each_clocks_time_status_and_customer_count() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/test-clocks/"
        assert request.headers["Authorization"] == "Bearer access"
        return httpx.Response(200, json={"results": [CLOCK, {**CLOCK, "id": "x",
                                                             "status": "ready",
                                                             "last_error": None}],
                                         "total": 2, "page": 1, "page_size": 100, "pages": 1})

    clocks = await _store(handler).clocks()
    first = clocks[0]
    assert first.frozen_time == datetime(2027, 1, 31, 1, 30, tzinfo=UTC)
    assert (first.name, first.status, first.customers, first.steps) == (
        "Yearly renewals", "failed", 2, 3)
    assert first.last_error == "ECPay simulator unreachable"
    assert taipei_text(first.frozen_time) == "2027-01-31 09:30"  # shown in Taipei time
    assert clocks[1].last_error == "" and not clocks[1].advancing


def test_a_clock_without_a_customer_count_says_none_rather_than_zero() -> None:
    clock = TestClock.from_json({k: v for k, v in CLOCK.items() if k != "customers"})
    assert clock.customers is None


@pytest.mark.asyncio
async def test_a_deployment_without_test_clocks_answers_with_its_own_code() -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={
            "code": "test_clocks_disabled", "status": 403, "errors": {},
            "message": "test clocks are off in this deployment (FLUXUS_TEST_CLOCKS)"})

    with pytest.raises(ApiError) as caught:
        await _store(handler).clocks()
    assert (caught.value.status, caught.value.code) == (403, DISABLED)
    assert translate("clock.disabled", "en") == (
        "Test clocks are off in this deployment (FLUXUS_TEST_CLOCKS).")


@pytest.mark.asyncio
async def test_the_page_says_clocks_are_off_where_the_api_refuses_them() -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"code": DISABLED, "status": 403, "errors": {},
                                         "message": "test clocks are off"})

    app = SimpleNamespace(auth=SimpleNamespace(is_staff=True), test_clocks=_store(handler),
                          t=lambda key, **values: translate(key, "en", **values))
    shown = await TestClocksView(app).render()  # type: ignore[arg-type]  # the app's parts used
    texts = " ".join(str(getattr(part, "object", "")) for part in shown.objects)
    assert "Test clocks are off in this deployment" in texts
    assert "Create a test clock" not in texts  # no forms that could only fail


@pytest.mark.asyncio
async def test_the_page_lists_each_clock_and_an_advancing_one_cannot_be_advanced_again() -> None:
    advancing = {**CLOCK, "status": "advancing", "last_error": None,
                 "advancing_to": "2027-02-28T01:30:00+00:00"}

    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"results": [advancing], "total": 1})

    app = SimpleNamespace(auth=SimpleNamespace(is_staff=True), test_clocks=_store(handler),
                          t=lambda key, **values: translate(key, "en", **values))
    shown = await TestClocksView(app).render()  # type: ignore[arg-type]
    card = next(p for p in shown.objects if "fx-clock" in p.css_classes)
    facts = card.objects[0].object
    assert "Yearly renewals" in facts and "Advancing" in facts
    assert "2027-01-31 09:30" in facts and "2027-02-28 09:30" in facts  # Taipei times
    assert "<dt>Test customers</dt><dd>2</dd>" in facts
    advance = card.objects[1].objects[-1]
    assert advance.name == "Advance the clock" and advance.disabled


def test_staff_type_taipei_times_and_a_bad_date_is_not_a_time() -> None:
    assert parse_taipei("2027-02-28 09:30") == datetime(2027, 2, 28, 1, 30, tzinfo=UTC)
    assert parse_taipei(" 2027-03-01 ") == datetime(2027, 2, 28, 16, 0, tzinfo=UTC)  # midnight
    assert parse_taipei("2027-02-30 09:30") is None
    assert parse_taipei("next tuesday") is None
    assert parse_taipei(taipei_text(datetime(2027, 5, 4, 3, 2, tzinfo=UTC))) == datetime(
        2027, 5, 4, 3, 2, tzinfo=UTC)  # what the page shows can be typed back


def test_the_suggested_advance_is_one_calendar_month_on_in_taipei() -> None:
    # 2027-01-31 09:30 in Taipei → February's last day, same time.
    assert taipei_text(next_month(datetime(2027, 1, 31, 1, 30, tzinfo=UTC))) == "2027-02-28 09:30"
    assert taipei_text(next_month(datetime(2027, 12, 15, 1, 0, tzinfo=UTC))) == "2028-01-15 09:00"


def test_an_advance_to_the_clocks_time_or_earlier_is_refused_before_asking_the_api() -> None:
    clock = TestClock.from_json(CLOCK)  # 2027-01-31 09:30 in Taipei
    assert advance_problem(clock, parse_taipei("2027-01-31 09:30")) == "clock.not_later"
    assert advance_problem(clock, parse_taipei("2026-12-31 09:30")) == "clock.not_later"
    assert advance_problem(clock, parse_taipei("2027-13-01")) == "clock.time_invalid"
    assert advance_problem(clock, parse_taipei("2027-01-31 09:31")) is None
    message = translate("clock.not_later", "en", time="2027-01-31 09:30")
    assert message == "A test clock only moves forward: type a time after 2027-01-31 09:30."


@pytest.mark.asyncio
async def test_advance_create_customer_and_delete_call_the_apis_own_endpoints() -> None:
    seen: list[tuple[str, str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        seen.append((request.method, request.url.path, body))
        if request.url.path.endswith("/advance/"):
            return httpx.Response(202, json={**CLOCK, "status": "advancing",
                                             "advancing_to": body["frozen_time"]})
        if request.url.path.endswith("/customers/"):
            return httpx.Response(201, json={"id": "u", "username": body["username"],
                                             "email": body["email"], "test_clock_id": CLOCK_ID,
                                             "is_active": True,
                                             "created_at": "2026-12-07T02:00:00+00:00"})
        if request.method == "DELETE":
            return httpx.Response(204)
        return httpx.Response(201, json={**CLOCK, "name": body["name"], "status": "ready"})

    store = _store(handler)
    clock = TestClock.from_json(CLOCK)
    moved = await store.advance(clock, parse_taipei("2027-02-28 09:30") or datetime.now(UTC))
    assert moved.advancing and moved.advancing_to == datetime(2027, 2, 28, 1, 30, tzinfo=UTC)
    made = await store.create("  Trial ends  ", None)
    assert made.name == "Trial ends"
    email = await store.add_customer(clock, username=" lin ", email="lin@example.tw ",
                                     password="s3cret-pass")
    assert email == "lin@example.tw"
    assert await store.delete(clock) is True
    assert seen == [
        ("POST", f"/api/test-clocks/{CLOCK_ID}/advance/",
         {"frozen_time": "2027-02-28T09:30:00+08:00"}),
        ("POST", "/api/test-clocks/", {"name": "Trial ends"}),  # no time: the API's now
        ("POST", f"/api/test-clocks/{CLOCK_ID}/customers/",
         {"username": "lin", "email": "lin@example.tw", "password": "s3cret-pass"}),
        ("DELETE", f"/api/test-clocks/{CLOCK_ID}/", None),
    ]


@pytest.mark.asyncio
async def test_the_apis_refusal_of_an_advance_keeps_its_message() -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json={"code": "validation_error", "status": 422,
                                         "message": "advance at most two years at a time",
                                         "errors": {}})

    with pytest.raises(ApiError, match="advance at most two years at a time"):
        await _store(handler).advance(TestClock.from_json(CLOCK),
                                      datetime(2031, 1, 1, tzinfo=UTC))


def test_every_status_reads_in_both_languages_and_the_page_has_its_own_url() -> None:
    for status in STATUSES:
        zh, en = (translate(f"clock.status.{status}", lang) for lang in ("zh-TW", "en"))
        assert zh != en and not zh.startswith("clock.") and not en.startswith("clock.")
    assert parse("/staff/test-clocks") == ("staff-test-clocks", {})
    assert parse("/staff/test-clocks/") == ("staff-test-clocks", {})
    assert url_for("staff-test-clocks") == "/staff/test-clocks"
    assert "/staff/test-clocks" in SERVED
