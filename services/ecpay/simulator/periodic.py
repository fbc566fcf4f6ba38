"""定期定額 at the simulator: the agreement's own schedule, declines, ReAuth and Cancel.

Schedule: charge n (1 = the checkout authorization) belongs to the date
``first authorization + (n - 1) × Frequency × PeriodType``. Months clamp the day
(Jan 31 → Feb 28 → Mar 31) and are always counted from the first date, so neither a short
month nor a decline ever shifts a later charge.

"Charge next period" (control API) means "the next scheduled day has come": the charge's
ProcessDate is its scheduled date even when the simulator clock has not reached that day.
The simulator does not wait for its calendar and does not jump it either (that would move
every other order's dates); advance it with ``POST /_sim/clock`` when a test needs both to
agree. ECPay charges by itself; the simulator charges only when told, one period per call.

A declined charge is not retried: the next call charges the next period. ExecTimes counts
periods, the first included; after the last one ExecStatus is 2. After six declined
attempts (ReAuth attempts included: the harsher reading of REFERENCE §5.1) ExecStatus is 0.
"""

from __future__ import annotations

import calendar
import itertools
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from services.ecpay.query import (
    PERIOD_ACTION_CANCEL,
    RTN_PERIOD_ALREADY_CANCELLED,
    TRADE_STATUS_NOT_FOUND,
)
from services.ecpay.simulator import payloads
from services.ecpay.simulator.checks import check_period_action
from services.ecpay.simulator.notifier import Delivery
from services.ecpay.simulator.store import PAID, PeriodCharge, SimError, SimOrder

if TYPE_CHECKING:
    from services.ecpay.simulator.engine import Simulator

# ECPay cancels a periodic agreement after six failed deductions (REFERENCE §5.1).
MAX_PERIOD_FAILURES = 6
RTN_DECLINED = "10100058"
# The simulator's own codes (ECPay's are not documented) for refused CreditCardPeriodAction.
RTN_PERIOD_FINISHED = "10100253"
RTN_REAUTH_REFUSED = "10100254"
RTN_NOT_PERIODIC = "10100255"


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months later, the day clamped to the month's last (Jan 31 + 1 → Feb 28)."""
    years, month0 = divmod(moment.month - 1 + months, 12)
    year, month = moment.year + years, month0 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def scheduled_date(first: datetime, period_type: str, frequency: int, number: int) -> datetime:
    """When charge ``number`` (1-based; 1 is the first authorization) is due."""
    steps = (number - 1) * frequency
    if period_type == "D":
        return first + timedelta(days=steps)
    # Month arithmetic in Taipei time, where ECPay's calendar days are.
    local = first.astimezone(payloads.TAIPEI)
    return add_months(local, steps * (12 if period_type == "Y" else 1))


def _due(order: SimOrder, number: int) -> datetime:
    plan, first = order.fields, order.charges[0].processed_at
    return scheduled_date(first, plan["PeriodType"], int(plan["Frequency"]), number)


def next_charge_date(order: SimOrder) -> datetime | None:
    """The scheduled date of the next charge of a running agreement."""
    if not order.charges or order.exec_status != "1":
        return None
    return _due(order, order.periods_run + 1)


class Agreements:
    """The periodic side of one Simulator (shares its lock, clock and notifier)."""

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim
        # Gwsr is ECPay's per-charge authorization serial: unique per charge.
        self._gwsr = itertools.count(10_000_000 + secrets.randbelow(80_000_000))

    def new_charge(
        self, order: SimOrder, number: int, at: datetime, *, success: bool = True, **result: str
    ) -> PeriodCharge:
        return PeriodCharge(
            number=number,
            success=success,
            amount=order.period_amount if number > 1 else order.amount,
            gwsr=str(next(self._gwsr)),
            auth_code=payloads.digits(6) if success else "",
            processed_at=at,
            rtn_code=result.get("rtn_code") or ("1" if success else RTN_DECLINED),
            rtn_msg=result.get("rtn_msg") or ("交易成功" if success else "付款失敗 (simulated)"),
        )

    def _running(self, no: str) -> SimOrder:
        order = self._sim.get(no)
        if not order.is_periodic:
            raise SimError(RTN_NOT_PERIODIC, f"order {no} is not periodic", 400)
        if order.status != PAID or not order.charges:
            raise SimError("409", f"order {no} has no agreement yet (status {order.status})", 409)
        if order.period_cancelled:
            why = f"the agreement was cancelled ({order.cancel_reason})"
            raise SimError(str(RTN_PERIOD_ALREADY_CANCELLED), why, 409)
        return order

    def _send(self, order: SimOrder, charge: PeriodCharge) -> Delivery:
        fields = payloads.period_result(order, self._sim.config.merchant_id, charge)
        return self._sim.notifier.send(
            "PeriodReturnURL",
            order.merchant_trade_no,
            order.fields["PeriodReturnURL"],
            self._sim.sign(fields),
        )

    def _record(self, order: SimOrder, charge: PeriodCharge) -> None:
        order.charges.append(charge)
        if order.failed_charges >= MAX_PERIOD_FAILURES:
            order.period_cancelled = True
            order.cancel_reason = f"{MAX_PERIOD_FAILURES} failed charges"

    def charge_next(self, no: str, success: bool = True, **result: str) -> Delivery:
        """Run the next scheduled charge (see the module doc) and post PeriodReturnURL."""
        with self._sim.lock:
            order = self._running(no)
            if order.periods_run >= order.exec_times:
                raise SimError(RTN_PERIOD_FINISHED, "the agreement has no charges left", 409)
            number = order.periods_run + 1
            charge = self.new_charge(order, number, _due(order, number), success=success, **result)
            self._record(order, charge)
        return self._send(order, charge)

    def set_amount(self, no: str, amount: Any) -> SimOrder:
        """The dashboard edits the periodic amount (SUP-16214); later charges use it."""
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise SimError("400", "amount must be a positive integer")
        with self._sim.lock:
            order = self._running(no)
            order.period_amount_override = amount
        return order

    def cancel(self, no: str, reason: str) -> SimOrder:
        with self._sim.lock:
            order = self._running(no)
            if order.exec_status == "2":
                raise SimError(RTN_PERIOD_FINISHED, "the agreement already finished", 409)
            order.period_cancelled, order.cancel_reason = True, reason
        return order

    def reauth(self, no: str) -> Delivery:
        """Re-run the latest charge when (and only when) it was declined."""
        with self._sim.lock:
            order = self._running(no)
            failed = order.charges[-1]
            if failed.success:
                raise SimError(RTN_REAUTH_REFUSED, "the latest charge did not fail", 409)
            at = max(self._sim.clock.now(), failed.processed_at)
            charge = self.new_charge(order, failed.number, at)
            charge.amount, charge.reauth = failed.amount, True
            self._record(order, charge)
        return self._send(order, charge)

    def action(self, form: Mapping[str, str]) -> dict[str, str]:
        """CreditCardPeriodAction: refusals raise SimError (rendered as RtnCode=code&...)."""
        fields = dict(form)
        check_period_action(fields, self._sim.config, self._sim.clock.wall())
        no = fields["MerchantTradeNo"]
        if no not in self._sim.order_numbers():
            raise SimError(TRADE_STATUS_NOT_FOUND, "Order not found")
        if fields["Action"] == PERIOD_ACTION_CANCEL:
            self.cancel(no, "CreditCardPeriodAction Cancel")
        else:
            self.reauth(no)
        merchant_id = fields["MerchantID"]
        return {"RtnCode": "1", "RtnMsg": "成功", "MerchantID": merchant_id, "MerchantTradeNo": no}
