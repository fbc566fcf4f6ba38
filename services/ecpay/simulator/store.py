"""The simulator's in-memory records: orders as ECPay would hold them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.ecpay.fields import format_trade_date

PENDING = "pending"
CODE_ISSUED = "code_issued"
PAID = "paid"
FAILED = "failed"
EXPIRED = "expired"


class SimError(Exception):
    """A request the simulator refuses; rendered ECPay-style as `code|message`."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}|{message}")
        self.code = code
        self.message = message
        self.status = status

    @property
    def body(self) -> str:
        return f"{self.code}|{self.message}"


@dataclass
class PeriodCharge:
    """One charge of a periodic agreement (the first is the checkout authorization)."""

    number: int
    success: bool
    amount: int
    gwsr: str
    auth_code: str
    processed_at: datetime


@dataclass
class SimOrder:
    """One checkout received at AioCheckOut V5 and everything that happened to it."""

    merchant_trade_no: str
    trade_no: str
    fields: dict[str, str]
    trade_date: datetime
    status: str = PENDING
    payment_type: str = ""
    payment_date: datetime | None = None
    code_info: dict[str, str] = field(default_factory=dict)
    charges: list[PeriodCharge] = field(default_factory=list)
    period_cancelled: bool = False

    @property
    def amount(self) -> int:
        return int(self.fields["TotalAmount"])

    @property
    def choose_payment(self) -> str:
        return self.fields["ChoosePayment"]

    @property
    def is_periodic(self) -> bool:
        return bool(self.fields.get("PeriodType"))

    @property
    def exec_times(self) -> int:
        return int(self.fields.get("ExecTimes") or 0)

    @property
    def total_success_times(self) -> int:
        return sum(1 for charge in self.charges if charge.success)

    def custom_fields(self) -> dict[str, str]:
        return {f"CustomField{i}": self.fields.get(f"CustomField{i}", "") for i in range(1, 5)}

    def to_json(self) -> dict[str, Any]:
        return {
            "merchant_trade_no": self.merchant_trade_no,
            "trade_no": self.trade_no,
            "status": self.status,
            "total_amount": self.amount,
            "choose_payment": self.choose_payment,
            "payment_type": self.payment_type,
            "trade_date": format_trade_date(self.trade_date),
            "payment_date": format_trade_date(self.payment_date) if self.payment_date else None,
            "code_info": dict(self.code_info),
            "periodic": self.is_periodic,
            "exec_times": self.exec_times,
            "total_success_times": self.total_success_times,
            "fields": dict(self.fields),
        }
