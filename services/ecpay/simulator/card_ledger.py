"""Card authorizations at the simulator: capture states and what DoAction may do to them.

States (REFERENCE §7): 已授權 (authorized) → 要關帳 (capture requested) → 已關帳 (captured at
the daily batch, 20:15 Taipei); N drops an authorization (已放棄), E undoes a capture
request, R gives money back from a requested or done capture. With auto-capture on (ECPay's
usual setting and the simulator's default) a paid card trade starts in 要關帳.

QueryTrade finds a record by its authorization (gwsr) and amount, as ECPay documents (?p=2894).
Its answer puts 要關帳 only in `close_data` (the top-level `status` stays 已授權), the zh page's
reading; E leaves an 操作取消 entry, the batch an 已關帳 one.

Where ECPay's behaviour is not documented the simulator takes the harsher reading and says
so below. Its RtnCodes are its own (ECPay's are not documented); only RtnCode 1 is ECPay's.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from services.ecpay.credit_detail import (
    ACTION_CAPTURE,
    ACTION_DROP_AUTH,
    ACTION_REFUND,
    ACTION_UNDO_CAPTURE,
    ACTIONS,
    STATE_AUTHORIZED,
    STATE_CAPTURE_REQUESTED,
    STATE_CAPTURED,
    STATE_DROPPED,
    STATE_OPERATION_CANCELLED,
    TAIPEI,
)
from services.ecpay.fields import format_trade_date
from services.ecpay.simulator.store import PAID, SimError, SimOrder

if TYPE_CHECKING:
    from services.ecpay.simulator.engine import Simulator

BATCH_AT = time(20, 15)
WINDOW = (time(20, 15), time(20, 30))

RTN_IN_CAPTURE_WINDOW = "10300001"
RTN_NOT_CARD = "10300002"
RTN_WRONG_STATE = "10300003"
RTN_AMOUNT = "10300004"
RTN_PARTIAL_REFUSED = "10300005"
RTN_UNKNOWN_TRADE = "10300006"
RTN_PERIODIC_LATER_CHARGE = "10300007"
RTN_FAULT = "10300099"

UNAVAILABLE = "unavailable"  # HTTP 503, nothing done
LOSE = "lose"  # done, then the answer is lost (HTTP 502)
REFUSE = "refuse"  # RtnCode RTN_FAULT with the given message, nothing done
FAULT_KINDS = (UNAVAILABLE, LOSE, REFUSE)


def next_batch(after: datetime) -> datetime:
    """The first daily capture batch (20:15 Taipei) strictly after ``after``."""
    local = after.astimezone(TAIPEI)
    batch = datetime.combine(local.date(), BATCH_AT, TAIPEI)
    return batch if batch > local else batch + timedelta(days=1)


def in_window(moment: datetime) -> bool:
    local = moment.astimezone(TAIPEI).time()
    return WINDOW[0] <= local < WINDOW[1]


@dataclass
class CardRecord:
    merchant_trade_no: str
    trade_no: str
    amount: int
    authorized_at: datetime
    state: str
    capture_requested_at: datetime | None = None
    refunded: int = 0
    operations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def close_amount(self) -> int:
        if self.state in (STATE_CAPTURE_REQUESTED, STATE_CAPTURED):
            return self.amount - self.refunded
        return 0

    def to_json(self) -> dict[str, Any]:
        return {
            "TradeID": self.trade_no,
            "amount": str(self.amount),
            "clsamt": str(self.close_amount),
            "authtime": format_trade_date(self.authorized_at),
            # The zh page lists 要關帳 only as a close_data status (harsher reading).
            "status": STATE_AUTHORIZED if self.state == STATE_CAPTURE_REQUESTED else self.state,
            "close_data": list(self.operations),
        }


@dataclass
class _Fault:
    kind: str
    remaining: int
    message: str


class CardLedger:
    """Card records, made when first asked about (from the simulator's paid orders)."""

    def __init__(self, simulator: Simulator, *, auto_capture: bool = True) -> None:
        self.sim = simulator
        self.auto_capture = auto_capture
        self._records: dict[str, CardRecord] = {}
        self._faults: list[_Fault] = []
        self._lock = threading.RLock()

    # -- faults ---------------------------------------------------------------------------
    def add_fault(self, kind: str, count: int = 1, message: str = "系統維護中 (simulated)") -> None:
        if kind not in FAULT_KINDS or count < 1:
            raise SimError("400", f"kind one of {', '.join(FAULT_KINDS)}, count >= 1")
        with self._lock:
            self._faults.append(_Fault(kind, count, message))

    def take_fault(self) -> _Fault | None:
        with self._lock:
            if not self._faults:
                return None
            fault = self._faults[0]
            fault.remaining -= 1
            if fault.remaining == 0:
                self._faults.pop(0)
            return fault

    # -- records --------------------------------------------------------------------------
    def _settle(self, record: CardRecord) -> CardRecord:
        """Run the capture batches that have passed on the simulator calendar."""
        requested = record.capture_requested_at
        if (
            record.state == STATE_CAPTURE_REQUESTED
            and requested is not None
            and self.sim.clock.now() >= next_batch(requested)
        ):
            record.state = STATE_CAPTURED
            record.operations.append(
                self._op(STATE_CAPTURED, record.amount - record.refunded, next_batch(requested))
            )
        return record

    @staticmethod
    def _op(status: str, amount: int, at: datetime) -> dict[str, Any]:
        return {
            "status": status,
            "amount": str(amount),
            "datetime": format_trade_date(at),
            "sno": str(int(at.timestamp())),
        }

    def record(self, merchant_trade_no: str, trade_no: str) -> CardRecord:
        order = self._card_order(merchant_trade_no, trade_no)
        with self._lock:
            record = self._records.get(merchant_trade_no)
            if record is None:
                paid_at = order.payment_date or self.sim.clock.now()
                record = CardRecord(
                    merchant_trade_no, order.trade_no, order.amount, paid_at, STATE_AUTHORIZED
                )
                if self.auto_capture:
                    record.state, record.capture_requested_at = STATE_CAPTURE_REQUESTED, paid_at
                    record.operations.append(
                        self._op(STATE_CAPTURE_REQUESTED, record.amount, paid_at))
                self._records[merchant_trade_no] = record
            return self._settle(record)

    def authorization(self, gwsr: str, amount: str) -> CardRecord:
        """QueryTrade's look-up: the paid card order whose authorization is ``gwsr`` of
        exactly ``amount`` (another amount is answered as no such authorization)."""
        found = [o for o in self.sim.orders() if gwsr and o.gwsr == gwsr]
        if not found or str(found[0].amount) != amount:
            raise SimError("error_nopay", "查無該筆交易授權單號 no such authorization")
        return self.record(found[0].merchant_trade_no, found[0].trade_no)

    def _card_order(self, merchant_trade_no: str, trade_no: str) -> SimOrder:
        try:
            order = self.sim.get(merchant_trade_no)
        except SimError:
            raise SimError(RTN_UNKNOWN_TRADE, "查無此交易 trade not found") from None
        if order.trade_no != trade_no or order.status != PAID:
            raise SimError(RTN_UNKNOWN_TRADE, "查無此交易 trade not found or not paid")
        if not order.payment_type.startswith("Credit"):
            # ATM, CVS and BARCODE have no refund API (REFERENCE §7).
            raise SimError(RTN_NOT_CARD, "非信用卡交易 not a credit card trade")
        return order

    def capture_now(self, merchant_trade_no: str) -> CardRecord:
        """Control: the capture batch runs for this trade now (as if 20:15 had come)."""
        with self._lock:
            record = self._records.get(merchant_trade_no)
            if record is None:
                order = self.sim.get(merchant_trade_no)
                record = self.record(merchant_trade_no, order.trade_no)
            if record.state == STATE_CAPTURE_REQUESTED:
                record.state = STATE_CAPTURED
                record.operations.append(
                    self._op(STATE_CAPTURED, record.close_amount, self.sim.clock.now())
                )
            return record

    # -- DoAction -------------------------------------------------------------------------
    def do_action(self, form: dict[str, str]) -> CardRecord:
        action, amount_text = form.get("Action", ""), form.get("TotalAmount", "")
        if action not in ACTIONS:
            raise SimError("10200050", f"Action Error: one of {', '.join(ACTIONS)}")
        if not amount_text.isdigit() or int(amount_text) <= 0:
            raise SimError("10200050", "TotalAmount Error: a positive integer")
        if in_window(self.sim.clock.now()):
            raise SimError(
                RTN_IN_CAPTURE_WINDOW,
                "關帳作業中，請於 20:30 後再試 capture batch running (20:15-20:30)",
            )
        amount = int(amount_text)
        with self._lock:
            self._refuse_periodic_after_first(form.get("MerchantTradeNo", ""))
            record = self.record(form.get("MerchantTradeNo", ""), form.get("TradeNo", ""))
            order = self.sim.get(record.merchant_trade_no)
            {
                ACTION_CAPTURE: self._capture,
                ACTION_UNDO_CAPTURE: self._undo_capture,
                ACTION_DROP_AUTH: self._drop,
                ACTION_REFUND: self._refund,
            }[action](record, order, amount)
            return record

    def _refuse_periodic_after_first(self, merchant_trade_no: str) -> None:
        """DoAction names a trade by MerchantTradeNo and TradeNo; a 定期定額 agreement's
        charges 2..n have no TradeNo of their own (PeriodReturnURL carries only a Gwsr) and
        ECPay documents no way to refund one, nor which authorization DoAction reaches once
        the agreement has charged again. The harsher reading: refused; refund by hand."""
        try:
            order = self.sim.get(merchant_trade_no)
        except SimError:
            return  # record() answers "trade not found"
        if order.is_periodic and any(c.number > 1 and c.success for c in order.charges):
            raise SimError(RTN_PERIODIC_LATER_CHARGE,
                           "定期定額已續扣，不可由 DoAction 退刷 periodic agreement has later "
                           "charges: refund through the vendor dashboard")

    @staticmethod
    def _wrong_state(record: CardRecord, action: str) -> SimError:
        return SimError(RTN_WRONG_STATE, f"交易狀態 {record.state} 不可執行 {action}")

    def _capture(self, record: CardRecord, _order: SimOrder, amount: int) -> None:
        if record.state != STATE_AUTHORIZED:
            raise self._wrong_state(record, ACTION_CAPTURE)
        # A capture of less than the authorization is undocumented: refused (harsher).
        if amount != record.amount:
            raise SimError(RTN_AMOUNT, "關帳金額須等於授權金額 capture the authorized amount")
        record.state, record.capture_requested_at = STATE_CAPTURE_REQUESTED, self.sim.clock.now()
        record.operations.append(
            self._op(STATE_CAPTURE_REQUESTED, amount, self.sim.clock.now()))

    def _undo_capture(self, record: CardRecord, _order: SimOrder, _amount: int) -> None:
        if record.state != STATE_CAPTURE_REQUESTED:
            raise self._wrong_state(record, ACTION_UNDO_CAPTURE)
        # Undoing a capture request that partial refunds already changed is undocumented:
        # refused (harsher); refund the rest with R instead.
        if record.refunded:
            raise self._wrong_state(record, ACTION_UNDO_CAPTURE)
        record.state, record.capture_requested_at = STATE_AUTHORIZED, None
        record.operations.append(
            self._op(STATE_OPERATION_CANCELLED, record.amount, self.sim.clock.now()))

    def _drop(self, record: CardRecord, _order: SimOrder, amount: int) -> None:
        if record.state != STATE_AUTHORIZED:
            raise self._wrong_state(record, ACTION_DROP_AUTH)
        # N gives up the whole authorization; another amount is refused (harsher reading).
        if amount != record.amount:
            raise SimError(RTN_AMOUNT, "放棄金額須等於授權金額 N takes the authorized amount")
        record.state = STATE_DROPPED
        record.operations.append(self._op("放棄", amount, self.sim.clock.now()))

    def _refund(self, record: CardRecord, order: SimOrder, amount: int) -> None:
        if record.state not in (STATE_CAPTURE_REQUESTED, STATE_CAPTURED):
            raise self._wrong_state(record, ACTION_REFUND)
        left = record.amount - record.refunded
        if amount > left:
            raise SimError(RTN_AMOUNT, f"退刷金額超過可退金額 {left} refund above what is left")
        partial = amount < record.amount
        installment = order.fields.get("CreditInstallment", "") not in ("", "0")
        # Installments must be refunded in full [doc]; for periodic (定期定額) authorizations
        # the docs say nothing, so the simulator refuses partial refunds there too (harsher).
        if partial and (installment or order.is_periodic):
            raise SimError(RTN_PARTIAL_REFUSED, "此交易不可部分退刷 only a full refund")
        # In 要關帳 a full refund is E then N (REFERENCE §7); R for all of it is refused.
        if record.state == STATE_CAPTURE_REQUESTED and amount == record.amount:
            raise SimError(RTN_WRONG_STATE, "要關帳全額退款請先取消(E)再放棄(N)")
        record.refunded += amount
        record.operations.append(self._op("退刷", amount, self.sim.clock.now()))

    def snapshot(self, merchant_trade_no: str) -> dict[str, Any]:
        with self._lock:
            record = self._records.get(merchant_trade_no)
            if record is None:
                order = self.sim.get(merchant_trade_no)
                record = self.record(merchant_trade_no, order.trade_no)
            # `state` is the simulator's own view (要關帳 included) for tests and the console.
            return self._settle(record).to_json() | {"refunded": record.refunded,
                                                      "state": record.state}
