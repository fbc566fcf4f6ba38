"""The field sets the simulator sends, following REFERENCE §3-§6 (values are simulated)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from services.ecpay.fields import TAIPEI, format_trade_date
from services.ecpay.notifications import RTN_ATM_ISSUED, RTN_CODE_ISSUED, RTN_PAID
from services.ecpay.simulator.store import EXPIRED, FAILED, PAID, SimOrder

# Invented but plausible per-method fees; ECPay's real fees depend on the contract.
FEE_PERCENT = {"Credit": 2.75, "ATM": 1.0, "CVS": 2.0, "BARCODE": 1.5}
DEFAULT_SUB_PAYMENT = {"Credit": "CreditCard", "ATM": "TAISHIN", "CVS": "CVS", "BARCODE": "BARCODE"}
BANK_CODES = {
    "TAISHIN": "812",
    "ESUN": "808",
    "BOT": "004",
    "FUBON": "012",
    "CHINATRUST": "822",
    "FIRST": "007",
    "LAND": "005",
    "CATHAY": "013",
    "TACHONG": "809",
}


def payment_type(method: str, order: SimOrder) -> str:
    """`<Method>_<Sub>` as ECPay reports it, honouring ChooseSubPayment when given."""
    sub = order.fields.get("ChooseSubPayment") or DEFAULT_SUB_PAYMENT[method]
    return f"{method}_{sub}"


def charge_fee(method: str, amount: int) -> str:
    return str(round(amount * FEE_PERCENT.get(method, 0.0) / 100))


def digits(count: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(count))


def _base(order: SimOrder, merchant_id: str) -> dict[str, str]:
    return {
        "MerchantID": merchant_id,
        "MerchantTradeNo": order.merchant_trade_no,
        "StoreID": order.fields.get("StoreID", ""),
        "TradeNo": order.trade_no,
        "TradeAmt": str(order.amount),
        "TradeDate": format_trade_date(order.trade_date),
        **order.custom_fields(),
    }


def payment_result(
    order: SimOrder, merchant_id: str, rtn_code: str, rtn_msg: str
) -> dict[str, str]:
    """ReturnURL / OrderResultURL fields (unsigned)."""
    method = order.payment_type.split("_", 1)[0]
    fields = _base(order, merchant_id) | {
        "RtnCode": rtn_code,
        "RtnMsg": rtn_msg,
        "PaymentDate": format_trade_date(order.payment_date) if order.payment_date else "",
        "PaymentType": order.payment_type,
        "PaymentTypeChargeFee": charge_fee(method, order.amount),
        "SimulatePaid": "0",
    }
    if order.fields.get("NeedExtraPaidInfo") == "Y" and method == "Credit":
        first = order.charges[0] if order.charges else None
        fields |= {
            "gwsr": first.gwsr if first else "",
            "auth_code": first.auth_code if first else "",
            "process_date": fields["PaymentDate"],
            "amount": str(order.amount),
            "card4no": "2222",
            "card6no": "431195",
            "eci": "0",
            "stage": "0",
        }
    return fields


def code_issued(order: SimOrder, merchant_id: str, method: str, now: datetime) -> dict[str, str]:
    """PaymentInfoURL fields (unsigned) for a freshly issued ATM account or CVS/BARCODE code."""
    fields = _base(order, merchant_id) | {"PaymentType": order.payment_type}
    if method == "ATM":
        days = int(order.fields.get("ExpireDate") or 3)
        sub = order.payment_type.split("_", 1)[1]
        expires = (now.astimezone(TAIPEI) + timedelta(days=days)).strftime("%Y/%m/%d")
        return fields | {
            "RtnCode": str(RTN_ATM_ISSUED),
            "RtnMsg": "Get VirtualAccount Succeeded",
            "BankCode": BANK_CODES.get(sub, "812"),
            "vAccount": digits(14),
            "ExpireDate": expires,
        }
    if method == "CVS":
        span = timedelta(minutes=int(order.fields.get("StoreExpireDate") or 10080))
        return fields | {
            "RtnCode": str(RTN_CODE_ISSUED),
            "RtnMsg": "Get CVS Code Succeeded.",
            "PaymentNo": "LLL" + digits(11),
            "ExpireDate": format_trade_date(now + span),
            "Barcode1": "",
            "Barcode2": "",
            "Barcode3": "",
        }
    barcode_expiry = now + timedelta(days=int(order.fields.get("StoreExpireDate") or 7))
    return fields | {
        "RtnCode": str(RTN_CODE_ISSUED),
        "RtnMsg": "Get BARCODE Succeeded.",
        "PaymentNo": "",
        "ExpireDate": format_trade_date(barcode_expiry),
        "Barcode1": barcode_expiry.astimezone(TAIPEI).strftime("%y%m%d") + "6G7",
        "Barcode2": digits(16),
        "Barcode3": digits(15),
    }


def period_result(order: SimOrder, merchant_id: str) -> dict[str, str]:
    """PeriodReturnURL fields (unsigned) for the latest periodic charge."""
    charge = order.charges[-1]
    return {
        "MerchantID": merchant_id,
        "MerchantTradeNo": order.merchant_trade_no,
        "StoreID": order.fields.get("StoreID", ""),
        "RtnCode": str(RTN_PAID) if charge.success else "10100058",
        "RtnMsg": "交易成功" if charge.success else "付款失敗 (simulated)",
        "PeriodType": order.fields["PeriodType"],
        "Frequency": order.fields["Frequency"],
        "ExecTimes": order.fields["ExecTimes"],
        "Amount": str(charge.amount),
        "Gwsr": charge.gwsr,
        "ProcessDate": format_trade_date(charge.processed_at),
        "AuthCode": charge.auth_code,
        "FirstAuthAmount": str(order.amount),
        "TotalSuccessTimes": str(order.total_success_times),
        "SimulatePaid": "0",
        **order.custom_fields(),
    }


def trade_status(order: SimOrder) -> str:
    if order.status == PAID:
        return "1"
    # The simulator reports failed and expired orders as "not established".
    return "10200095" if order.status in (FAILED, EXPIRED) else "0"


def trade_info(order: SimOrder, merchant_id: str) -> dict[str, str]:
    """QueryTradeInfo V5 answer fields (unsigned)."""
    method = order.payment_type.split("_", 1)[0] if order.payment_type else ""
    fee = charge_fee(method, order.amount) if order.status == PAID else "0"
    return _base(order, merchant_id) | {
        "PaymentDate": format_trade_date(order.payment_date) if order.payment_date else "",
        "PaymentType": order.payment_type,
        "HandlingCharge": fee,
        "PaymentTypeChargeFee": fee,
        "TradeStatus": trade_status(order),
        "ItemName": order.fields.get("ItemName", ""),
    }


def period_info(order: SimOrder, merchant_id: str) -> dict[str, Any]:
    """QueryCreditCardPeriodInfo JSON answer."""
    done = order.total_success_times >= order.exec_times
    status = "0" if order.period_cancelled else ("2" if done else "1")
    first = order.charges[0] if order.charges else None
    return {
        "MerchantID": merchant_id,
        "MerchantTradeNo": order.merchant_trade_no,
        "TradeNo": order.trade_no,
        "RtnCode": 1,
        "PeriodType": order.fields["PeriodType"],
        "Frequency": int(order.fields["Frequency"]),
        "ExecTimes": order.exec_times,
        "PeriodAmount": int(order.fields["PeriodAmount"]),
        "amount": order.amount,
        "gwsr": int(first.gwsr) if first else 0,
        "process_date": format_trade_date(first.processed_at) if first else "",
        "auth_code": first.auth_code if first else "",
        "card4no": "2222",
        "card6no": "431195",
        "TotalSuccessTimes": order.total_success_times,
        "TotalSuccessAmount": sum(c.amount for c in order.charges if c.success),
        "ExecStatus": status,
        "ExecLog": [
            {
                "RtnCode": 1 if c.success else 0,
                "amount": c.amount,
                "gwsr": int(c.gwsr),
                "process_date": format_trade_date(c.processed_at),
                "auth_code": c.auth_code,
                "TradeNo": order.trade_no,
            }
            for c in order.charges
        ],
    }
