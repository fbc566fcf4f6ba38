"""The simulated gateway's behaviour: accept checkouts, move orders, send notifications.

The simulator is meant to be as strict as ECPay: whatever ECPay refuses, delays or never
sends, the simulator refuses, delays or never sends too, so that code passing against it
has a chance against the real gateway.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx

from services.core.clock import Clock, SystemClock
from services.core.config import (
    SIM_CREDIT_CHECK_CODE,
    STAGE_HASH_IV,
    STAGE_HASH_KEY,
    STAGE_MERCHANT_ID,
)
from services.ecpay.checkmac import sign
from services.ecpay.simulator import payloads
from services.ecpay.simulator.checks import check_checkout, check_query
from services.ecpay.simulator.clock import SimClock
from services.ecpay.simulator.einvoice_store import EInvoiceSimConfig
from services.ecpay.simulator.notifier import (
    DEFAULT_MAX_DELIVERIES,
    DEFAULT_RETRY_INTERVAL,
    Delivery,
    Notifier,
)
from services.ecpay.simulator.periodic import Agreements
from services.ecpay.simulator.store import (
    CODE_ISSUED,
    EXPIRED,
    FAILED,
    PAID,
    PENDING,
    SimError,
    SimOrder,
)

OFFLINE = ("ATM", "CVS", "BARCODE")
# ECPay posts BARCODE results about two days after the payment (REFERENCE §3).
DEFAULT_BARCODE_RESULT_DELAY = 2 * 24 * 3600.0


@dataclass(frozen=True)
class SimConfig:
    merchant_id: str = STAGE_MERCHANT_ID
    hash_key: str = STAGE_HASH_KEY
    hash_iv: str = STAGE_HASH_IV
    retry_interval: float = DEFAULT_RETRY_INTERVAL
    max_deliveries: int = DEFAULT_MAX_DELIVERIES
    # Seconds of the simulator clock between a BARCODE payment and its ReturnURL post.
    barcode_result_delay: float = DEFAULT_BARCODE_RESULT_DELAY
    # The merchant's card check code (vendor dashboard), which QueryTrade requires.
    credit_check_code: str = SIM_CREDIT_CHECK_CODE
    # The B2C e-invoice account (its own MerchantID and keys, number range, MOF look-ups).
    einvoice: EInvoiceSimConfig = field(default_factory=EInvoiceSimConfig)


class Simulator:
    """All simulator state, in memory and guarded by one lock (so: one process only)."""

    def __init__(
        self,
        config: SimConfig,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.config = config
        self.clock = SimClock(clock or SystemClock())
        self.notifier = Notifier(
            self.clock,
            retry_interval=config.retry_interval,
            max_deliveries=config.max_deliveries,
            transport=transport,
        )
        self.agreements = Agreements(self)
        self._orders: dict[str, SimOrder] = {}
        self.lock = threading.RLock()
        self._serial = itertools.count(1)

    def sign(self, fields: Mapping[str, str]) -> dict[str, str]:
        return sign(fields, self.config.hash_key, self.config.hash_iv)

    # -- checkout -------------------------------------------------------------------------
    def checkout(self, form: Mapping[str, str]) -> SimOrder:
        fields = dict(form)
        check_checkout(fields, self.config)
        now = self.clock.now()
        with self.lock:
            if fields["MerchantTradeNo"] in self._orders:
                # MerchantTradeNo is unique forever at ECPay, whatever became of the first.
                raise SimError("10200047", "MerchantTradeNo is duplicate")
            # ECPay's TradeNo looks like yyMMddHHmmss + 4 digits.
            trade_no = now.strftime("%y%m%d%H%M%S") + f"{next(self._serial) % 10000:04d}"
            order = SimOrder(fields["MerchantTradeNo"], trade_no, fields, trade_date=now)
            self._orders[order.merchant_trade_no] = order
        return order

    def get(self, merchant_trade_no: str) -> SimOrder:
        with self.lock:
            order = self._orders.get(merchant_trade_no)
        if order is None:
            raise SimError("404", f"no order {merchant_trade_no}", status=404)
        return order

    def orders(self) -> list[SimOrder]:
        with self.lock:
            return list(self._orders.values())

    def order_numbers(self) -> set[str]:
        with self.lock:
            return set(self._orders)

    # -- lifecycle ------------------------------------------------------------------------
    @staticmethod
    def _require(order: SimOrder, *states: str) -> None:
        if order.status not in states:
            raise SimError("409", f"order {order.merchant_trade_no} is {order.status}", 409)

    def _method(self, order: SimOrder, requested: str | None) -> str:
        if order.payment_type:
            return order.payment_type.split("_", 1)[0]
        method = requested or ("Credit" if order.choose_payment == "ALL" else order.choose_payment)
        if order.choose_payment not in ("ALL", method) or method not in payloads.FEE_PERCENT:
            raise SimError(
                "400", f"{method} is not possible for ChoosePayment={order.choose_payment}"
            )
        return method

    def _code_expired(self, order: SimOrder) -> bool:
        expires = order.code_expires_at
        return expires is not None and self.clock.now() > expires

    def pay(self, merchant_trade_no: str, method: str | None = None) -> Delivery:
        order = self.get(merchant_trade_no)
        with self.lock:
            self._require(order, PENDING, CODE_ISSUED)
            method = self._method(order, method)
            if method in OFFLINE and order.status != CODE_ISSUED:
                raise SimError("409", f"issue a {method} code before paying", 409)
            if self._code_expired(order):
                raise SimError("409", f"the {method} code expired; it cannot be paid", 409)
            order.payment_type = payloads.payment_type(method, order)
            order.payment_date = self.clock.now()
            order.status = PAID
            if method == "Credit":
                # Every card authorization has its serial (gwsr); an agreement's first charge
                # is the checkout's authorization.
                first = self.agreements.new_charge(order, 1, order.payment_date)
                order.gwsr, order.auth_code = first.gwsr, first.auth_code
                if order.is_periodic:
                    order.charges.append(first)
            fields = payloads.payment_result(order, self.config.merchant_id, "1", "交易成功")
        hold = None
        if method == "BARCODE":
            hold = order.payment_date + timedelta(seconds=self.config.barcode_result_delay)
        # ECPay's re-sends say "paid" instead of 交易成功 (REFERENCE §1.4): keep merchants honest.
        return self.notifier.send(
            "ReturnURL",
            merchant_trade_no,
            order.fields["ReturnURL"],
            self.sign(fields),
            self.sign(fields | {"RtnMsg": "paid"}),
            hold_until=hold,
        )

    def simulate_paid(self, merchant_trade_no: str, method: str | None = None) -> Delivery:
        """The dashboard's 模擬付款: a ReturnURL with SimulatePaid=1 and no money moved.

        The order itself stays unpaid, so QueryTradeInfo keeps saying TradeStatus 0.
        """
        order = self.get(merchant_trade_no)
        with self.lock:
            self._require(order, PENDING, CODE_ISSUED)
            method = self._method(order, method)
            # A copy: the simulated payment must leave no trace on the order.
            shown = dataclasses.replace(
                order,
                payment_type=payloads.payment_type(method, order),
                payment_date=self.clock.now(),
            )
            fields = payloads.payment_result(
                shown, self.config.merchant_id, "1", "交易成功", simulated=True
            )
        return self.notifier.send(
            "ReturnURL", merchant_trade_no, order.fields["ReturnURL"], self.sign(fields)
        )

    def fail(
        self,
        merchant_trade_no: str,
        method: str | None = None,
        rtn_code: str = "10100058",
        rtn_msg: str = "付款失敗 (simulated)",
    ) -> Delivery:
        order = self.get(merchant_trade_no)
        with self.lock:
            self._require(order, PENDING, CODE_ISSUED)
            order.payment_type = payloads.payment_type(self._method(order, method), order)
            order.status = FAILED
            fields = payloads.payment_result(order, self.config.merchant_id, rtn_code, rtn_msg)
        return self.notifier.send(
            "ReturnURL", merchant_trade_no, order.fields["ReturnURL"], self.sign(fields)
        )

    def expire(self, merchant_trade_no: str, *, force: bool = False) -> SimOrder:
        """An unpaid order or code runs out; ECPay sends no notification for that.

        An issued code stays payable until its ExpireDate, whether or not the merchant heard
        of it, so expiring it earlier needs ``force`` (tests) or an advanced clock.
        """
        order = self.get(merchant_trade_no)
        with self.lock:
            self._require(order, PENDING, CODE_ISSUED)
            if order.status == CODE_ISSUED and not force and not self._code_expired(order):
                expires = order.code_info.get("ExpireDate", "")
                raise SimError("409", f"the code is payable until {expires}", 409)
            order.status = EXPIRED
        return order

    def issue_code(self, merchant_trade_no: str, method: str | None = None) -> Delivery | None:
        order = self.get(merchant_trade_no)
        with self.lock:
            self._require(order, PENDING)
            method = self._method(
                order, method or ("ATM" if order.choose_payment == "ALL" else None)
            )
            if method not in OFFLINE:
                raise SimError("400", f"{method} has no payment code")
            order.payment_type = payloads.payment_type(method, order)
            fields = payloads.code_issued(order, self.config.merchant_id, method, self.clock.now())
            order.code_info = fields
            order.code_expires_at = payloads.code_expiry(fields)
            order.status = CODE_ISSUED
        url = order.fields.get("PaymentInfoURL", "")
        if not url:
            return None
        return self.notifier.send("PaymentInfoURL", merchant_trade_no, url, self.sign(fields))

    def charge_period(
        self, merchant_trade_no: str, success: bool = True, **result: str
    ) -> Delivery:
        """Run the next scheduled 定期定額 charge and post its PeriodReturnURL."""
        return self.agreements.charge_next(merchant_trade_no, success, **result)

    def result_form(self, order: SimOrder) -> dict[str, str]:
        """Signed fields the browser posts to OrderResultURL after paying."""
        code, msg = ("1", "交易成功") if order.status == PAID else ("10100058", "付款失敗")
        return self.sign(payloads.payment_result(order, self.config.merchant_id, code, msg))

    def advance_clock(self, seconds: float) -> list[int]:
        """Move the simulator calendar forward; returns the held deliveries now released."""
        self.clock.advance(timedelta(seconds=seconds))
        return self.notifier.release_due()

    # -- server-to-server queries ---------------------------------------------------------
    def _queried(self, form: Mapping[str, str]) -> SimOrder | None:
        # Merchants sign TimeStamp with their wall clock; the simulator calendar may be ahead.
        check_query(dict(form), self.config, self.clock.wall())
        with self.lock:
            return self._orders.get(form["MerchantTradeNo"])

    def query_trade(self, form: Mapping[str, str]) -> str:
        """QueryTradeInfo V5 answer: a signed `key=value&...` body, also for unknown orders."""
        order = self._queried(form)
        with self.lock:
            if order is None:
                fields = payloads.trade_not_found(form["MerchantTradeNo"], self.config.merchant_id)
            else:
                fields = payloads.trade_info(order, self.config.merchant_id)
            signed = self.sign(fields)
        return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in signed.items())

    def query_period(self, form: Mapping[str, str]) -> dict[str, Any]:
        order = self._queried(form)
        if order is None:
            raise SimError("10200047", "Order not found")
        if not order.is_periodic:
            raise SimError("10200047", "not a periodic order")
        with self.lock:
            return payloads.period_info(order, self.config.merchant_id)
