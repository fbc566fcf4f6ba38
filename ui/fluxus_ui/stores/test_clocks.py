"""Test clocks for staff (docs/test-clocks.md): list, create, advance, delete, and put a new
test customer on one. Times typed in the page are Taipei wall-clock times, as every time the
dashboard shows; the API gets them as aware ISO-8601."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fluxus_ui.client import ApiClient
from fluxus_ui.i18n import TAIPEI
from fluxus_ui.models import parse_time

# The API's answer when the deployment runs without FLUXUS_TEST_CLOCKS (403).
DISABLED = "test_clocks_disabled"
STATUSES = ("ready", "advancing", "failed")
# Badge colours of template.TABLE_CSS: ready is green, advancing yellow, failed red.
BADGE = {"ready": "active", "advancing": "pending", "failed": "failed"}
TIME_FORMAT = "%Y-%m-%d %H:%M"
_TYPED = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2}))?\s*$")


@dataclass(frozen=True)
class TestClock:
    __test__ = False  # not a pytest class, whatever its name

    id: str
    name: str
    frozen_time: datetime | None
    status: str
    advancing_to: datetime | None
    steps: int
    last_error: str
    customers: int | None  # None when the API did not say
    created_at: datetime | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TestClock:
        customers = data.get("customers")
        return cls(str(data["id"]), str(data.get("name") or ""),
                   parse_time(data.get("frozen_time")), str(data.get("status") or ""),
                   parse_time(data.get("advancing_to")), int(data.get("steps") or 0),
                   str(data.get("last_error") or ""),
                   int(customers) if customers is not None else None,
                   parse_time(data.get("created_at")))

    @property
    def advancing(self) -> bool:
        return self.status == "advancing"


def parse_taipei(text: str) -> datetime | None:
    """'2027-01-07 09:30' or '2027-01-07' (midnight) in Taipei time, or None if not a date."""
    match = _TYPED.match(text or "")
    if match is None:
        return None
    year, month, day, hour, minute = (int(g) if g else 0 for g in match.groups())
    try:
        return datetime(year, month, day, hour, minute, tzinfo=TAIPEI)
    except ValueError:
        return None


def taipei_text(value: datetime | None) -> str:
    """The form's own format, so a shown time can be typed back."""
    return value.astimezone(TAIPEI).strftime(TIME_FORMAT) if value else ""


def next_month(value: datetime) -> datetime:
    """The same day and time a calendar month later in Taipei (the 31st → the month's last
    day): the advance form's suggestion, one monthly renewal round ahead."""
    local = value.astimezone(TAIPEI)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day, second=0, microsecond=0)


def advance_problem(clock: TestClock, target: datetime | None) -> str | None:
    """The message key refusing an advance before asking the API, or None: the target must
    be a time (parse_taipei read it), later than the clock's (a clock never goes back). The
    API's other limits (two years at most, not while advancing) come back as its message."""
    if target is None:
        return "clock.time_invalid"
    if clock.frozen_time is not None and target <= clock.frozen_time:
        return "clock.not_later"
    return None


class TestClockStore:
    __test__ = False

    def __init__(self, client: ApiClient) -> None:
        self.client = client

    async def clocks(self) -> list[TestClock]:
        """Every clock, newest first; raises ApiError with code DISABLED when they are off."""
        page = await self.client._page("/api/test-clocks/", TestClock.from_json,
                                       {"page_size": 100})
        return page.items

    async def create(self, name: str, frozen_time: datetime | None) -> TestClock:
        body: dict[str, Any] = {"name": name.strip()}
        if frozen_time is not None:
            body["frozen_time"] = frozen_time.isoformat()
        _, made = await self.client._call("POST", "/api/test-clocks/", json=body)
        return TestClock.from_json(made)

    async def advance(self, clock: TestClock, to: datetime) -> TestClock:
        _, body = await self.client._call("POST", f"/api/test-clocks/{clock.id}/advance/",
                                          json={"frozen_time": to.isoformat()})
        return TestClock.from_json(body)

    async def add_customer(self, clock: TestClock, *, username: str, email: str,
                           password: str) -> str:
        """A new customer on the clock (verified, so they can log in at once); their e-mail."""
        _, body = await self.client._call(
            "POST", f"/api/test-clocks/{clock.id}/customers/",
            json={"username": username.strip(), "email": email.strip(), "password": password})
        return str(body["email"])

    async def delete(self, clock: TestClock) -> bool:
        await self.client._call("DELETE", f"/api/test-clocks/{clock.id}/")
        return True
