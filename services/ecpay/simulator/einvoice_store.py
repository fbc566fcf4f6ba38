"""The simulated e-invoice account: its number range, invoices and allowances, in memory."""

from __future__ import annotations

import itertools
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from services.core.config import (
    EINVOICE_STAGE_HASH_IV,
    EINVOICE_STAGE_HASH_KEY,
    EINVOICE_STAGE_MERCHANT_ID,
)
from services.ecpay.einvoice.models import TAIPEI
from services.ecpay.simulator.einvoice_checks import SimAnswer

ISSUED = "issued"
PENDING = "pending"  # online allowance waiting for the buyer's consent
VOIDED = "voided"
EXPIRED = "expired"  # online allowance never agreed within CONSENT_WINDOW

# A consent link is valid for 72 hours (doc 15391/22070).
CONSENT_WINDOW = timedelta(hours=72)
# Codes from live third-party fixtures (RESEARCH §1.2) where known; "unknown" ones marked.
NOT_FOUND = 2
RANGE_EXHAUSTED = 1100040
HAS_ALLOWANCES = 5070450
ALREADY_VOIDED = 5070453
ALLOWANCE_NOT_FOUND = 2000039
ALLOWANCE_ALREADY_VOIDED = 2000063
DUPLICATE = 0  # seen as 10000009, 5070357 and 0: the message-only form is the harsher one
CUTOFF_PASSED = 5070451  # unknown code; the message is what a client can match
OVER_REMAINING = 10000006  # unknown code
NOT_ALLOWED = 10000006  # unknown code: allowance of a voided invoice, void of a pending one

DEFAULT_TRACK = "AB"
DEFAULT_RANGE = (10000000, 10099999)
DEFAULT_BARCODES = frozenset({"/ABC1234", "/FLUXUS1"})
DEFAULT_LOVE_CODES = frozenset({"168001", "919", "25885"})


@dataclass(frozen=True)
class EInvoiceSimConfig:
    merchant_id: str = EINVOICE_STAGE_MERCHANT_ID
    hash_key: str = EINVOICE_STAGE_HASH_KEY
    hash_iv: str = EINVOICE_STAGE_HASH_IV
    track: str = DEFAULT_TRACK
    first_number: int = DEFAULT_RANGE[0]
    last_number: int = DEFAULT_RANGE[1]
    barcodes: frozenset[str] = DEFAULT_BARCODES
    love_codes: frozenset[str] = DEFAULT_LOVE_CODES


@dataclass
class SimAllowance:
    allowance_no: str
    invoice_no: str
    amount: int
    created_at: datetime
    reason: str
    customer_name: str
    notify_mail: str
    state: str = ISSUED
    return_url: str = ""
    expires_at: datetime | None = None
    voided_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "allowance_no": self.allowance_no,
            "invoice_no": self.invoice_no,
            "amount": self.amount,
            "created_at": ecpay_datetime(self.created_at),
            "state": self.state,
            "reason": self.reason,
            "return_url": self.return_url,
            "expires_at": ecpay_datetime(self.expires_at) if self.expires_at else None,
            "voided_at": ecpay_datetime(self.voided_at) if self.voided_at else None,
        }


@dataclass
class SimInvoice:
    invoice_no: str
    relate_number: str
    invoice_date: datetime
    random_number: str
    sales_amount: int
    data: dict[str, Any]
    voided_at: datetime | None = None
    void_reason: str = ""
    allowances: list[SimAllowance] = field(default_factory=list)

    @property
    def tax_amount(self) -> int:
        # Tax included in a 5 % taxable total: total - round(total / 1.05).
        net = (Decimal(self.sales_amount) / Decimal("1.05")).quantize(Decimal(1), ROUND_HALF_UP)
        return self.sales_amount - int(net)

    def allowed(self, *states: str) -> int:
        return sum(a.amount for a in self.allowances if a.state in states)

    @property
    def remaining(self) -> int:
        """What GetIssue reports: agreed allowances count, pending ones do not."""
        return self.sales_amount - self.allowed(ISSUED)

    def to_json(self) -> dict[str, Any]:
        return {
            "invoice_no": self.invoice_no,
            "relate_number": self.relate_number,
            "invoice_date": ecpay_datetime(self.invoice_date),
            "random_number": self.random_number,
            "sales_amount": self.sales_amount,
            "tax_amount": self.tax_amount,
            "voided": self.voided_at is not None,
            "void_reason": self.void_reason,
            "remaining_allowance": self.remaining,
            "carrier_type": self.data.get("CarrierType", ""),
            "carrier_num": self.data.get("CarrierNum", ""),
            "customer_identifier": self.data.get("CustomerIdentifier", ""),
            "print": self.data.get("Print", ""),
            "donation": self.data.get("Donation", ""),
            "allowances": [a.to_json() for a in self.allowances],
        }


def ecpay_datetime(moment: datetime) -> str:
    return moment.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M:%S")


def void_deadline(invoice_date: datetime) -> datetime:
    """23:59:59 Taipei on the 13th of the odd month after the invoice's two-month period."""
    local = invoice_date.astimezone(TAIPEI)
    first_month = local.month - (local.month + 1) % 2  # Jan, Mar, May, Jul, Sep, Nov
    month, year = first_month + 2, local.year
    if month > 12:
        month, year = month - 12, year + 1
    return datetime(year, month, 13, 23, 59, 59, tzinfo=TAIPEI)


class InvoiceBook:
    """Invoices by number and by RelateNumber (case-insensitive), and the number range."""

    def __init__(self, config: EInvoiceSimConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self._next_number = config.first_number
        self._by_no: dict[str, SimInvoice] = {}
        self._by_relate: dict[str, SimInvoice] = {}
        self._allowance_serial = itertools.count(1)

    def invoices(self) -> list[SimInvoice]:
        with self.lock:
            return list(self._by_no.values())

    def by_relate_number(self, relate_number: str) -> SimInvoice:
        with self.lock:
            invoice = self._by_relate.get(relate_number.upper())
        if invoice is None:
            raise SimAnswer(NOT_FOUND, "查無發票資料 (no invoice for this RelateNumber)")
        return invoice

    def by_number(self, invoice_no: str, invoice_date: str | None = None) -> SimInvoice:
        with self.lock:
            invoice = self._by_no.get(invoice_no)
        if invoice is None or (
            invoice_date is not None
            and invoice.invoice_date.astimezone(TAIPEI).strftime("%Y-%m-%d") != invoice_date
        ):
            raise SimAnswer(NOT_FOUND, "查無發票資料 (no such InvoiceNo on that InvoiceDate)")
        return invoice

    def issue(
        self, relate_number: str, total: int, data: dict[str, Any], now: datetime
    ) -> SimInvoice:
        with self.lock:
            if relate_number.upper() in self._by_relate:
                raise SimAnswer(
                    DUPLICATE, "該自訂編號已存在，自訂編號不可重複 (duplicate RelateNumber)"
                )
            if self._next_number > self.config.last_number:
                raise SimAnswer(RANGE_EXHAUSTED, "發票字軌已用罄 (invoice number range used up)")
            number = f"{self.config.track}{self._next_number:08d}"
            self._next_number += 1
            invoice = SimInvoice(
                invoice_no=number,
                relate_number=relate_number,
                invoice_date=now,
                random_number=f"{secrets.randbelow(10000):04d}",
                sales_amount=total,
                data=data,
            )
            self._by_no[number] = invoice
            self._by_relate[relate_number.upper()] = invoice
            return invoice

    def void(self, invoice: SimInvoice, reason: str, now: datetime) -> None:
        with self.lock:
            self.expire_consents(now)
            if invoice.voided_at is not None:
                raise SimAnswer(ALREADY_VOIDED, "發票已作廢過 (already voided)")
            if any(a.state in (ISSUED, PENDING) for a in invoice.allowances):
                # A pending online allowance blocks too: unknown at ECPay, the harsher reading.
                raise SimAnswer(
                    HAS_ALLOWANCES, "發票已有折讓，請先作廢折讓 (void allowances first)"
                )
            if now > void_deadline(invoice.invoice_date):
                raise SimAnswer(CUTOFF_PASSED, "已超過發票作廢期限 (filing period closed)")
            invoice.voided_at, invoice.void_reason = now, reason

    def add_allowance(self, invoice: SimInvoice, allowance: SimAllowance, now: datetime) -> None:
        with self.lock:
            self.expire_consents(now)
            if invoice.voided_at is not None:
                raise SimAnswer(NOT_ALLOWED, "發票已作廢，不可折讓 (invoice is void)")
            # Pending online allowances hold their amount (unknown at ECPay; harsher).
            available = invoice.sales_amount - invoice.allowed(ISSUED, PENDING)
            if allowance.amount > available:
                raise SimAnswer(
                    OVER_REMAINING,
                    f"折讓金額超過可折讓金額 {available} (allowance above the remaining amount)",
                )
            invoice.allowances.append(allowance)

    def new_allowance_no(self, now: datetime) -> str:
        # 16 digits like ECPay's (e.g. 2021072813260868): time to the second + a serial.
        return (
            now.astimezone(TAIPEI).strftime("%Y%m%d%H%M%S")
            + f"{next(self._allowance_serial) % 100:02d}"
        )

    def allowance(self, invoice_no: str, allowance_no: str) -> tuple[SimInvoice, SimAllowance]:
        with self.lock:
            invoice = self._by_no.get(invoice_no)
            found = (
                [a for a in invoice.allowances if a.allowance_no == allowance_no] if invoice else []
            )
        if invoice is None or not found:
            raise SimAnswer(ALLOWANCE_NOT_FOUND, "查無折讓單資料 (no such allowance)")
        return invoice, found[0]

    def find_allowance(self, allowance_no: str) -> tuple[SimInvoice, SimAllowance]:
        with self.lock:
            for invoice in self._by_no.values():
                for allowance in invoice.allowances:
                    if allowance.allowance_no == allowance_no:
                        return invoice, allowance
        raise SimAnswer(ALLOWANCE_NOT_FOUND, "查無折讓單資料 (no such allowance)")

    def void_allowance(self, allowance: SimAllowance, now: datetime) -> None:
        with self.lock:
            self.expire_consents(now)
            if allowance.state == VOIDED:
                raise SimAnswer(
                    ALLOWANCE_ALREADY_VOIDED, "折讓單已作廢過 (allowance already voided)"
                )
            if allowance.state != ISSUED:
                # A pending one is cancelled with AllowanceInvalidByCollegiate, not this call.
                raise SimAnswer(NOT_ALLOWED, f"折讓單狀態為 {allowance.state}，不可作廢")
            allowance.state, allowance.voided_at = VOIDED, now

    def expire_consents(self, now: datetime) -> None:
        with self.lock:
            for invoice in self._by_no.values():
                for allowance in invoice.allowances:
                    if (
                        allowance.state == PENDING
                        and allowance.expires_at
                        and now > allowance.expires_at
                    ):
                        allowance.state = EXPIRED

    def consent(self, allowance_no: str, now: datetime) -> tuple[SimInvoice, SimAllowance]:
        """The buyer clicks the consent link: the pending allowance becomes real."""
        with self.lock:
            self.expire_consents(now)
            invoice, allowance = self.find_allowance(allowance_no)
            if allowance.state != PENDING:
                raise SimAnswer(NOT_ALLOWED, f"折讓單狀態為 {allowance.state}，不可同意")
            allowance.state = ISSUED
            return invoice, allowance
