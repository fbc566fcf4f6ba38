"""What the e-invoice client takes and gives: plain frozen values, amounts in integer NT$."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from urllib.parse import unquote_plus
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

try:
    TAIPEI: timezone | ZoneInfo = ZoneInfo("Asia/Taipei")
except ZoneInfoNotFoundError:  # slim image without tzdata: Taiwan has had no DST since 1979
    TAIPEI = timezone(timedelta(hours=8), "Asia/Taipei")

# The only tax setting Fluxus uses: taxable (5 %), general invoice, prices include tax.
TAX_TYPE = "1"
INV_TYPE = "07"
VAT_INCLUDED = "1"


@dataclass(frozen=True)
class InvoiceItem:
    """One invoice line; ``price`` and ``amount`` are integer NT$ with the 5 % tax included."""

    name: str
    count: int
    word: str
    price: int
    amount: int


@dataclass(frozen=True)
class IssueRequest:
    relate_number: str
    sales_amount: int
    items: tuple[InvoiceItem, ...]
    customer_email: str = ""
    customer_phone: str = ""
    customer_id: str = ""
    customer_identifier: str = ""
    customer_name: str = ""
    customer_addr: str = ""
    print_flag: bool = False
    donation: bool = False
    love_code: str = ""
    carrier_type: str = ""
    carrier_num: str = ""
    remark: str = ""


@dataclass(frozen=True)
class IssuedInvoice:
    invoice_no: str
    invoice_date: datetime
    random_number: str


@dataclass(frozen=True)
class InvoiceRecord(IssuedInvoice):
    """An invoice as GetIssue reports it."""

    relate_number: str
    sales_amount: int
    voided: bool
    remaining_allowance: int


@dataclass(frozen=True)
class AllowanceResult:
    allowance_no: str
    allowance_date: datetime
    remaining_amount: int


@dataclass(frozen=True)
class PendingAllowance:
    """An online allowance waiting for the buyer's consent (it does not exist before)."""

    allowance_no: str
    expires_at: datetime | None


@dataclass(frozen=True)
class AllowanceConsent:
    """The buyer agreed to an online allowance: ECPay's verified ReturnURL post."""

    invoice_no: str
    allowance_no: str
    allowance_date: datetime | None
    remaining_amount: int | None
    fields: dict[str, str]


_DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


def parse_ecpay_datetime(text: str) -> datetime:
    """ECPay's e-invoice times in Taipei: ``yyyy-MM-dd HH:mm:ss``, also seen URL-encoded
    (``yyyy-MM-dd+HH:mm:ss``) and with ``/`` between the date parts."""
    cleaned = unquote_plus(text).strip().replace("/", "-").replace("T", " ")
    for pattern in _DATETIME_FORMATS:
        try:
            parsed = datetime.strptime(cleaned, pattern)  # noqa: DTZ007 - zone set next line
        except ValueError:
            continue
        return parsed.replace(tzinfo=TAIPEI)
    raise ValueError(f"not an ECPay e-invoice date: {text!r}")


def format_invoice_date(day: date) -> str:
    """The ``yyyy-MM-dd`` that Invalid and Allowance want."""
    return day.strftime("%Y-%m-%d")
