"""A pure-Python stand-in for ECPay's side of the money lifecycle, for the model-based test:
it remembers every trade as ECPay would, signs the notifications ECPay would send, keeps
each card agreement's own schedule, counts every dollar it takes, and answers CreditDetail
QueryTrade/DoAction (card refunds) by the simulator's own card ledger rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.core.domain.periods import BillingCycle, add_cycles
from services.ecpay.checkmac import sign
from services.ecpay.credentials import EcpayCredentials
from services.ecpay.credit_detail import CardTrade, CreditDetailRefused, CreditDetailUnavailable
from services.ecpay.errors import EcpayUnavailable
from services.ecpay.fields import format_trade_date
from services.ecpay.query import PeriodInfo
from services.ecpay.simulator.card_ledger import CardLedger, CardRecord
from services.ecpay.simulator.store import PAID, SimError, SimOrder

STAGE = EcpayCredentials.stage()
CODE_DAYS = 3  # an ATM account's ExpireDate, as Fluxus asks for it
# ECPay's payment channel for each ChoosePayment: (Trade.method, PaymentType).
CHANNELS = {"Credit": ("Credit", "Credit_CreditCard"), "ATM": ("ATM", "ATM_TAISHIN"),
            "CVS": ("CVS", "CVS_CVS"), "BARCODE": ("BARCODE", "BARCODE_BARCODE")}
# ECPay posts a BARCODE payment's result about two days after the customer paid (REFERENCE §3).
BARCODE_RESULT_DELAY = timedelta(days=2)


@dataclass
class Trade:
    """One MerchantTradeNo as ECPay holds it."""

    number: str
    amount: int
    method: str  # Credit | ATM | CVS | BARCODE
    periodic: bool
    status: str = "open"  # open | code | paid | failed
    code_expires: datetime | None = None
    paid_at: datetime | None = None
    next_charge: int = 1  # the agreement's next scheduled charge (1 = a period later)
    declines: int = 0
    successes: int = 1
    cancelled: bool = False
    trade_no: str = ""  # ECPay's TradeNo of the payment (what DoAction is keyed by)
    money_back: int = 0  # given back by card at ECPay (CreditDetail DoAction)
    extra_paid_info: bool = False  # the checkout sent NeedExtraPaidInfo=Y
    gwsr: str = ""  # the card authorization (ReturnURL's gwsr; QueryTrade's CreditRefundId)

    @property
    def agreement_running(self) -> bool:
        return self.periodic and self.status == "paid" and not self.cancelled \
            and self.declines < 6

    def scheduled(self, k: int) -> datetime:
        assert self.paid_at is not None
        return add_cycles(self.paid_at, BillingCycle.MONTHLY, k)


@dataclass
class Gateway:
    """ECPay: trades, what it has posted, the money it took, and whether it answers."""

    trades: dict[str, Trade] = field(default_factory=dict)
    posted: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    money_in: int = 0
    up: bool = True
    # The model's clock: card trades are captured at ECPay's 20:15 Taipei batch.
    now: Callable[[], datetime] | None = None
    lose_next_card_answer: bool = False  # the next DoAction is done, its answer lost
    _serial: int = 0
    _cards: CardLedger | None = None

    def checkout(self, fields: dict[str, str]) -> Trade:
        number = fields["MerchantTradeNo"]
        assert number not in self.trades, "Fluxus reused a MerchantTradeNo (ECPay refuses it)"
        trade = Trade(number, int(fields["TotalAmount"]), CHANNELS[fields["ChoosePayment"]][0],
                      bool(fields.get("PeriodType")),
                      extra_paid_info=fields.get("NeedExtraPaidInfo") == "Y")
        self.trades[number] = trade
        return trade

    def _post(self, kind: str, fields: dict[str, Any]) -> dict[str, str]:
        form = sign({k: str(v) for k, v in fields.items()}, STAGE.hash_key, STAGE.hash_iv)
        self.posted.append((kind, form))
        return form

    def _trade_no(self) -> str:
        self._serial += 1
        return f"2612{self._serial:012d}"

    def result(self, trade: Trade, now: datetime, *, paid: bool,
               simulated: bool = False) -> dict[str, str]:
        """ReturnURL: the customer paid (or the card was declined) at ECPay."""
        trade_no = self._trade_no()
        if paid and not simulated:
            trade.status, trade.paid_at = "paid", now.replace(microsecond=0)
            trade.trade_no = trade_no
            self.money_in += trade.amount
        elif not paid:
            trade.status = "failed"
        method = CHANNELS[trade.method][1]
        extra: dict[str, Any] = {}
        if paid and not simulated and trade.method == "Credit" and trade.extra_paid_info:
            trade.gwsr = trade_no[-8:]
            extra = {"gwsr": trade.gwsr, "amount": trade.amount, "auth_code": "777777",
                     "process_date": format_trade_date(now)}
        return self._post("return", {**extra,
            "MerchantID": STAGE.merchant_id, "MerchantTradeNo": trade.number, "StoreID": "",
            "RtnCode": "1" if paid else "10100058", "RtnMsg": "交易成功" if paid else "付款失敗",
            "TradeNo": trade_no, "TradeAmt": trade.amount,
            "PaymentDate": format_trade_date(now) if paid else "", "PaymentType": method,
            "PaymentTypeChargeFee": "0", "TradeDate": format_trade_date(now),
            "SimulatePaid": "1" if simulated else "0",
            **{f"CustomField{i}": "" for i in range(1, 5)},
        })

    def issue_code(self, trade: Trade, now: datetime) -> dict[str, str]:
        """PaymentInfoURL: an ATM account, a CVS payment code or barcodes, each payable
        through its ExpireDate (Taipei; CVS with a time of day)."""
        trade.status = "code"
        expires = now + timedelta(days=CODE_DAYS)
        trade.code_expires = expires
        stamp = format_trade_date(expires)
        by_method: dict[str, dict[str, Any]] = {
            "ATM": {"RtnCode": "2", "RtnMsg": "Get VirtualAccount Succeeded", "BankCode": "812",
                    "vAccount": "9103522175887271", "ExpireDate": stamp[:10]},
            "CVS": {"RtnCode": "10100073", "RtnMsg": "Get CVS Code Succeeded",
                    "PaymentNo": "LLL22251222", "ExpireDate": stamp,
                    "Barcode1": "", "Barcode2": "", "Barcode3": ""},
            "BARCODE": {"RtnCode": "10100073", "RtnMsg": "Get BARCODE Succeeded",
                        "Barcode1": "1612236F8", "Barcode2": "2233445566778899",
                        "Barcode3": "121234000000990", "ExpireDate": stamp[:10]},
        }
        return self._post("payment_info", {
            "MerchantID": STAGE.merchant_id, "MerchantTradeNo": trade.number, "StoreID": "",
            "TradeNo": self._trade_no(), "TradeAmt": trade.amount,
            "PaymentType": CHANNELS[trade.method][1], "TradeDate": format_trade_date(now),
            **by_method[trade.method], **{f"CustomField{i}": "" for i in range(1, 5)},
        })

    def charge(self, trade: Trade, *, success: bool) -> dict[str, str]:
        """PeriodReturnURL: the agreement's next charge, on its own scheduled date."""
        k = trade.next_charge
        trade.next_charge += 1
        if success:
            trade.successes += 1
            self.money_in += trade.amount
        else:
            trade.declines += 1
        return self._post("period", {
            "MerchantID": STAGE.merchant_id, "MerchantTradeNo": trade.number, "StoreID": "",
            "RtnCode": "1" if success else "10100058",
            "RtnMsg": "交易成功" if success else "付款失敗", "PeriodType": "M", "Frequency": "1",
            "ExecTimes": "99", "Amount": trade.amount, "Gwsr": f"{trade.number[-6:]}{k:04d}",
            "ProcessDate": format_trade_date(trade.scheduled(k)), "AuthCode": "777777",
            "FirstAuthAmount": trade.amount, "TotalSuccessTimes": trade.successes,
            "SimulatePaid": "0", **{f"CustomField{i}": "" for i in range(1, 5)},
        })

    # -- what Fluxus' cancel job asks (services.core.usecases.payments.agreements) -----------
    def period_action(self, merchant_trade_no: str, action: str) -> object:
        if not self.up:
            raise EcpayUnavailable("ECPay is down (stand-in)")
        self.trades[merchant_trade_no].cancelled = True
        return object()

    def query_period(self, merchant_trade_no: str) -> PeriodInfo:
        if not self.up:
            raise EcpayUnavailable("ECPay is down (stand-in)")
        trade = self.trades[merchant_trade_no]
        return PeriodInfo.from_json({
            "MerchantID": STAGE.merchant_id, "MerchantTradeNo": trade.number, "TradeNo": "1",
            "RtnCode": 1, "PeriodType": "M", "Frequency": 1, "ExecTimes": 99,
            "PeriodAmount": trade.amount, "ExecStatus": "0" if trade.cancelled else "1",
        })

    # -- what Fluxus' card refund saga asks (services.core.usecases.refunds.card) ------------
    @property
    def card_money_back(self) -> int:
        return sum(trade.money_back for trade in self.trades.values())

    def _ledger(self) -> CardLedger:
        if self._cards is None:
            self._cards = CardLedger(_SimulatorView(self))  # type: ignore[arg-type]
        return self._cards

    def query_trade(self, credit_refund_id: str, credit_amount: int) -> CardTrade:
        if not self.up:
            raise CreditDetailUnavailable("ECPay is down (stand-in)")
        found = [t for t in self.trades.values()
                 if t.gwsr == credit_refund_id and t.amount == credit_amount]
        if not found:
            raise CreditDetailRefused("QueryTrade", "error_nopay", "no RtnValue")
        try:
            record = self._ledger().record(found[0].number, found[0].trade_no)
        except SimError as error:
            raise CreditDetailRefused("QueryTrade", error.code, error.message) from None
        return _card_trade(record)

    def do_action(self, merchant_trade_no: str, trade_no: str, action: str,
                  amount: int) -> dict[str, str]:
        if not self.up:
            raise CreditDetailUnavailable("ECPay is down (stand-in)")
        form = {"MerchantTradeNo": merchant_trade_no, "TradeNo": trade_no, "Action": action,
                "TotalAmount": str(amount)}
        try:
            record = self._ledger().do_action(form)
        except SimError as error:
            raise CreditDetailRefused(action, error.code, error.message) from None
        self.trades[merchant_trade_no].money_back = _card_trade(record).money_back
        if self.lose_next_card_answer:
            self.lose_next_card_answer = False
            raise CreditDetailUnavailable("DoAction: HTTP 502 (done, answer lost; stand-in)")
        return {"RtnCode": "1", "RtnMsg": "成功", "MerchantTradeNo": merchant_trade_no,
                "TradeNo": trade_no}


def _card_trade(record: CardRecord) -> CardTrade:
    return CardTrade.from_json({"RtnValue": record.to_json()})


class _SimulatorView:
    """What the simulator's CardLedger reads of the simulator: its clock and paid orders."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.clock = self

    def now(self) -> datetime:
        assert self.gateway.now is not None, "the model sets Gateway.now"
        return self.gateway.now()

    def get(self, merchant_trade_no: str) -> SimOrder:
        trade = self.gateway.trades.get(merchant_trade_no)
        if trade is None or trade.paid_at is None:
            raise SimError("10200047", "no such trade")
        fields = {"TotalAmount": str(trade.amount), "ChoosePayment": trade.method}
        if trade.periodic:
            fields["PeriodType"] = "M"
        return SimOrder(merchant_trade_no, trade.trade_no, fields, trade.paid_at,
                        status=PAID if trade.status == "paid" else trade.status,
                        payment_type=CHANNELS[trade.method][1], payment_date=trade.paid_at)
