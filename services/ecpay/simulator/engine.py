"""The simulated gateway's behaviour: accept checkouts, move orders, send notifications."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from services.core.clock import Clock, SystemClock
from services.core.config import STAGE_HASH_IV, STAGE_HASH_KEY, STAGE_MERCHANT_ID
from services.ecpay.checkmac import sign
from services.ecpay.simulator import payloads
from services.ecpay.simulator.checks import check_checkout, check_query
from services.ecpay.simulator.notifier import (
    DEFAULT_MAX_DELIVERIES,
    DEFAULT_RETRY_INTERVAL,
    Delivery,
    Notifier,
)
from services.ecpay.simulator.store import (
    CODE_ISSUED,
    EXPIRED,
    FAILED,
    PAID,
    PENDING,
    PeriodCharge,
    SimError,
    SimOrder,
)

OFFLINE = ("ATM", "CVS", "BARCODE")
# ECPay cancels a periodic agreement after six failed deductions (REFERENCE §5.1).
MAX_PERIOD_FAILURES = 6


@dataclass(frozen=True)
class SimConfig:
    merchant_id: str = STAGE_MERCHANT_ID
    hash_key: str = STAGE_HASH_KEY
    hash_iv: str = STAGE_HASH_IV
    retry_interval: float = DEFAULT_RETRY_INTERVAL
    max_deliveries: int = DEFAULT_MAX_DELIVERIES


class Simulator:
    """All simulator state, in memory and guarded by one lock (so: one process only)."""

    def __init__(
        self,
        config: SimConfig,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.notifier = Notifier(
            self.clock,
            retry_interval=config.retry_interval,
            max_deliveries=config.max_deliveries,
            transport=transport,
        )
        self._orders: dict[str, SimOrder] = {}
        self._lock = threading.RLock()
        self._serial = itertools.count(1)

    def sign(self, fields: Mapping[str, str]) -> dict[str, str]:
        return sign(fields, self.config.hash_key, self.config.hash_iv)

    # -- checkout -------------------------------------------------------------------------
    def checkout(self, form: Mapping[str, str]) -> SimOrder:
        fields = dict(form)
        check_checkout(fields, self.config)
        now = self.clock.now()
        with self._lock:
            if fields["MerchantTradeNo"] in self._orders:
                raise SimError("10200047", "MerchantTradeNo is duplicate")
            # ECPay's TradeNo looks like yyMMddHHmmss + 4 digits.
            trade_no = now.strftime("%y%m%d%H%M%S") + f"{next(self._serial) % 10000:04d}"
            order = SimOrder(fields["MerchantTradeNo"], trade_no, fields, trade_date=now)
            self._orders[order.merchant_trade_no] = order
        return order

    def get(self, merchant_trade_no: str) -> SimOrder:
        with self._lock:
            order = self._orders.get(merchant_trade_no)
        if order is None:
            raise SimError("404", f"no order {merchant_trade_no}", status=404)
        return order

    def orders(self) -> list[SimOrder]:
        with self._lock:
            return list(self._orders.values())

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

    def pay(self, merchant_trade_no: str, method: str | None = None) -> Delivery:
        order = self.get(merchant_trade_no)
        with self._lock:
            self._require(order, PENDING, CODE_ISSUED)
            method = self._method(order, method)
            if method in OFFLINE and order.status != CODE_ISSUED:
                raise SimError("409", f"issue a {method} code before paying", 409)
            order.payment_type = payloads.payment_type(method, order)
            order.payment_date = self.clock.now()
            order.status = PAID
            if order.is_periodic:
                order.charges.append(self._charge(order, success=True))
            fields = payloads.payment_result(order, self.config.merchant_id, "1", "交易成功")
        # ECPay's re-sends say "paid" instead of 交易成功 (REFERENCE §1.4): keep merchants honest.
        return self.notifier.send(
            "ReturnURL",
            merchant_trade_no,
            order.fields["ReturnURL"],
            self.sign(fields),
            self.sign(fields | {"RtnMsg": "paid"}),
        )

    def fail(
        self,
        merchant_trade_no: str,
        method: str | None = None,
        rtn_code: str = "10100058",
        rtn_msg: str = "付款失敗 (simulated)",
    ) -> Delivery:
        order = self.get(merchant_trade_no)
        with self._lock:
            self._require(order, PENDING, CODE_ISSUED)
            order.payment_type = payloads.payment_type(self._method(order, method), order)
            order.status = FAILED
            fields = payloads.payment_result(order, self.config.merchant_id, rtn_code, rtn_msg)
        return self.notifier.send(
            "ReturnURL", merchant_trade_no, order.fields["ReturnURL"], self.sign(fields)
        )

    def expire(self, merchant_trade_no: str) -> SimOrder:
        """An unpaid order or code runs out; ECPay sends no notification for that."""
        order = self.get(merchant_trade_no)
        with self._lock:
            self._require(order, PENDING, CODE_ISSUED)
            order.status = EXPIRED
        return order

    def issue_code(self, merchant_trade_no: str, method: str | None = None) -> Delivery | None:
        order = self.get(merchant_trade_no)
        with self._lock:
            self._require(order, PENDING)
            method = self._method(
                order, method or ("ATM" if order.choose_payment == "ALL" else None)
            )
            if method not in OFFLINE:
                raise SimError("400", f"{method} has no payment code")
            order.payment_type = payloads.payment_type(method, order)
            fields = payloads.code_issued(order, self.config.merchant_id, method, self.clock.now())
            order.code_info = fields
            order.status = CODE_ISSUED
        url = order.fields.get("PaymentInfoURL", "")
        if not url:
            return None
        return self.notifier.send("PaymentInfoURL", merchant_trade_no, url, self.sign(fields))

    def _charge(self, order: SimOrder, *, success: bool) -> PeriodCharge:
        amount = int(order.fields.get("PeriodAmount") or order.amount)
        return PeriodCharge(
            len(order.charges) + 1,
            success,
            amount,
            payloads.digits(6),
            payloads.digits(6),
            self.clock.now(),
        )

    def charge_period(self, merchant_trade_no: str, success: bool = True) -> Delivery:
        """Run the next 定期定額 charge and post its PeriodReturnURL."""
        order = self.get(merchant_trade_no)
        with self._lock:
            if not order.is_periodic:
                raise SimError("400", f"order {merchant_trade_no} is not periodic")
            self._require(order, PAID)
            if order.period_cancelled or order.total_success_times >= order.exec_times:
                raise SimError("409", "the periodic agreement has no charges left", 409)
            order.charges.append(self._charge(order, success=success))
            if sum(1 for c in order.charges if not c.success) >= MAX_PERIOD_FAILURES:
                order.period_cancelled = True
            fields = payloads.period_result(order, self.config.merchant_id)
        return self.notifier.send(
            "PeriodReturnURL", merchant_trade_no, order.fields["PeriodReturnURL"], self.sign(fields)
        )

    def result_form(self, order: SimOrder) -> dict[str, str]:
        """Signed fields the browser posts to OrderResultURL after paying."""
        code, msg = ("1", "交易成功") if order.status == PAID else ("10100058", "付款失敗")
        return self.sign(payloads.payment_result(order, self.config.merchant_id, code, msg))

    # -- server-to-server queries ---------------------------------------------------------
    def _queried(self, form: Mapping[str, str]) -> SimOrder:
        check_query(dict(form), self.config, self.clock.now())
        with self._lock:
            order = self._orders.get(form["MerchantTradeNo"])
        if order is None:
            raise SimError("10200047", "Order not found")
        return order

    def query_trade(self, form: Mapping[str, str]) -> str:
        """QueryTradeInfo V5 answer: a signed `key=value&...` body."""
        order = self._queried(form)
        with self._lock:
            fields = self.sign(payloads.trade_info(order, self.config.merchant_id))
        return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in fields.items())

    def query_period(self, form: Mapping[str, str]) -> dict[str, Any]:
        order = self._queried(form)
        if not order.is_periodic:
            raise SimError("10200047", "not a periodic order")
        with self._lock:
            return payloads.period_info(order, self.config.merchant_id)
