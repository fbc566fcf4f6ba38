"""Field-level parsing shared by notifications and query results (Taipei times, ints)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.core.errors import ValidationError

try:
    TAIPEI: timezone | ZoneInfo = ZoneInfo("Asia/Taipei")
except ZoneInfoNotFoundError:  # no tz database in a slim image: Taiwan has had no DST since 1979
    TAIPEI = timezone(timedelta(hours=8), "Asia/Taipei")

DATETIME_FORMAT = "%Y/%m/%d %H:%M:%S"
DATE_FORMAT = "%Y/%m/%d"


def format_trade_date(moment: datetime) -> str:
    """An aware instant as ECPay's `yyyy/MM/dd HH:mm:ss` in Taipei time."""
    if moment.tzinfo is None:
        raise ValueError("ECPay dates need a timezone-aware datetime")
    return moment.astimezone(TAIPEI).strftime(DATETIME_FORMAT)


def parse_taipei_datetime(text: str) -> datetime:
    """`yyyy/MM/dd HH:mm:ss` (ECPay sometimes omits leading zeros) in Taipei time."""
    return datetime.strptime(text.strip(), DATETIME_FORMAT).replace(tzinfo=TAIPEI)


def parse_taipei_date(text: str) -> date:
    return datetime.strptime(text.strip(), DATE_FORMAT).replace(tzinfo=TAIPEI).date()


class FormReader:
    """Reads typed fields from a posted form, collecting every problem before raising."""

    def __init__(self, form: Mapping[str, str], what: str) -> None:
        self.form = form
        self.what = what
        self.errors: dict[str, list[str]] = {}

    def _fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def text(self, name: str, *, required: bool = True) -> str:
        value = self.form.get(name)
        if value is None or (required and value == ""):
            if required:
                self._fail(name, "missing")
            return ""
        if not isinstance(value, str):
            self._fail(name, "must be text")
            return ""
        return value

    def integer(self, name: str, *, required: bool = True) -> int | None:
        raw = self.text(name, required=required)
        if raw == "":
            return None
        try:
            return int(raw)
        except ValueError:
            self._fail(name, f"not an integer: {raw!r}")
            return None

    def decimal(self, name: str, *, required: bool = True) -> Decimal | None:
        raw = self.text(name, required=required)
        if raw == "":
            return None
        try:
            value = Decimal(raw)
        except InvalidOperation:
            value = Decimal("NaN")
        if not value.is_finite():
            self._fail(name, f"not a number: {raw!r}")
            return None
        return value

    def moment(self, name: str, *, required: bool = True) -> datetime | None:
        raw = self.text(name, required=required)
        if raw == "":
            return None
        try:
            return parse_taipei_datetime(raw)
        except ValueError:
            self._fail(name, f"not a yyyy/MM/dd HH:mm:ss time: {raw!r}")
            return None

    def day(self, name: str, *, required: bool = True) -> date | None:
        raw = self.text(name, required=required)
        if raw == "":
            return None
        try:
            return parse_taipei_date(raw)
        except ValueError:
            self._fail(name, f"not a yyyy/MM/dd date: {raw!r}")
            return None

    def flag(self, name: str) -> bool:
        """`1` is true; absent, empty or `0` false; anything else an error."""
        raw = self.text(name, required=False)
        if raw not in ("", "0", "1"):
            self._fail(name, f"must be 0 or 1, not {raw!r}")
        return raw == "1"

    def done(self) -> None:
        if self.errors:
            raise ValidationError(f"Invalid ECPay {self.what}", errors=dict(self.errors))
