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
    """One charge attempt of a periodic agreement (number 1 is the checkout authorization).

    ``number`` is the period the attempt belongs to; a ReAuth is a second attempt with the
    same number, so the schedule (and ExecTimes) counts periods, not attempts.
    """

    number: int
    success: bool
    amount: int
    gwsr: str
    auth_code: str
    processed_at: datetime
    rtn_code: str = "1"
    rtn_msg: str = "交易成功"
    reauth: bool = False


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
    # A card payment's authorization serial and code (ReturnURL's gwsr/auth_code with
    # NeedExtraPaidInfo=Y; QueryTrade's CreditRefundId). Empty until paid by card.
    gwsr: str = ""
    auth_code: str = ""
    period_cancelled: bool = False
    cancel_reason: str = ""
    # When an issued ATM/CVS/BARCODE code stops being payable.
    code_expires_at: datetime | None = None
    # The periodic amount as edited in ECPay's dashboard (SUP-16214); None = PeriodAmount.
    period_amount_override: int | None = None

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

    @property
    def periods_run(self) -> int:
        return max((charge.number for charge in self.charges), default=0)

    @property
    def failed_charges(self) -> int:
        return sum(1 for charge in self.charges if not charge.success)

    @property
    def period_amount(self) -> int:
        if self.period_amount_override is not None:
            return self.period_amount_override
        return int(self.fields.get("PeriodAmount") or self.amount)

    @property
    def exec_status(self) -> str:
        """QueryCreditCardPeriodInfo ExecStatus: 0 cancelled, 1 running, 2 finished."""
        if self.period_cancelled:
            return "0"
        return "2" if self.periods_run >= self.exec_times else "1"

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
            "payment_date": _date(self.payment_date),
            "gwsr": self.gwsr,
            "code_info": dict(self.code_info),
            "periodic": self.is_periodic,
            "code_expires_at": _date(self.code_expires_at),
            "exec_times": self.exec_times,
            "total_success_times": self.total_success_times,
            "periods_run": self.periods_run,
            "failed_charges": self.failed_charges,
            "period_amount": self.period_amount if self.is_periodic else None,
            "exec_status": self.exec_status if self.is_periodic and self.charges else None,
            "cancel_reason": self.cancel_reason,
            "fields": dict(self.fields),
        }


def _date(moment: datetime | None) -> str | None:
    return format_trade_date(moment) if moment else None
