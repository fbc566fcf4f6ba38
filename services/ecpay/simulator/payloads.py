"""The field sets the simulator sends, following REFERENCE §3-§6 (values are simulated)."""

from __future__ import annotations

import secrets
from datetime import datetime, time, timedelta
from typing import Any

from services.ecpay.fields import (
    TAIPEI,
    format_trade_date,
    parse_taipei_date,
    parse_taipei_datetime,
)
from services.ecpay.notifications import RTN_ATM_ISSUED, RTN_CODE_ISSUED
from services.ecpay.query import TRADE_STATUS_NOT_FOUND
from services.ecpay.simulator.store import EXPIRED, FAILED, PAID, PeriodCharge, SimOrder

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
    order: SimOrder, merchant_id: str, rtn_code: str, rtn_msg: str, *, simulated: bool = False
) -> dict[str, str]:
    """ReturnURL / OrderResultURL fields (unsigned); ``simulated`` = dashboard 模擬付款."""
    method = order.payment_type.split("_", 1)[0]
    fields = _base(order, merchant_id) | {
        "RtnCode": rtn_code,
        "RtnMsg": rtn_msg,
        "PaymentDate": format_trade_date(order.payment_date) if order.payment_date else "",
        "PaymentType": order.payment_type,
        "PaymentTypeChargeFee": charge_fee(method, order.amount),
        "SimulatePaid": "1" if simulated else "0",
    }
    if order.fields.get("NeedExtraPaidInfo") == "Y" and method == "Credit":
        fields |= {
            "gwsr": order.gwsr,
            "auth_code": order.auth_code,
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


def code_expiry(code: dict[str, str]) -> datetime:
    """When an issued code stops being payable: ATM gives a date (its last second counts)."""
    text = code["ExpireDate"]
    if len(text) <= len("yyyy/MM/dd"):
        day = parse_taipei_date(text)
        return datetime.combine(day, time(23, 59, 59), tzinfo=TAIPEI)
    return parse_taipei_datetime(text)


def period_result(order: SimOrder, merchant_id: str, charge: PeriodCharge) -> dict[str, str]:
    """PeriodReturnURL fields (unsigned) for one periodic charge (REFERENCE §5.2)."""
    return {
        "MerchantID": merchant_id,
        "MerchantTradeNo": order.merchant_trade_no,
        "StoreID": order.fields.get("StoreID", ""),
        "RtnCode": charge.rtn_code,
        "RtnMsg": charge.rtn_msg,
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


def trade_not_found(merchant_trade_no: str, merchant_id: str) -> dict[str, str]:
    """QueryTradeInfo V5 answer (unsigned) for an order ECPay never received."""
    return {
        "MerchantID": merchant_id,
        "MerchantTradeNo": merchant_trade_no,
        "StoreID": "",
        "TradeNo": "",
        "TradeAmt": "0",
        "TradeDate": "",
        "PaymentDate": "",
        "PaymentType": "",
        "HandlingCharge": "0",
        "PaymentTypeChargeFee": "0",
        "TradeStatus": TRADE_STATUS_NOT_FOUND,
        "ItemName": "",
        **{f"CustomField{i}": "" for i in range(1, 5)},
    }


def period_info(order: SimOrder, merchant_id: str) -> dict[str, Any]:
    """QueryCreditCardPeriodInfo JSON answer.

    ECPay's full field list is unverified (REFERENCE §5.4: the stored doc was cut off after
    ``amount``). ExecStatus, ExecLog, TotalSuccessTimes and TotalSuccessAmount are names we
    chose from memory; ExecLog entries carry RtnCode, RtnMsg, amount, gwsr, process_date,
    auth_code and TradeNo. PeriodAmount shows the amount charged now (it changes when the
    dashboard edits it); ``amount`` stays the first authorization's.
    """
    first = order.charges[0] if order.charges else None
    return {
        "MerchantID": merchant_id,
        "MerchantTradeNo": order.merchant_trade_no,
        "TradeNo": order.trade_no,
        "RtnCode": 1,
        "PeriodType": order.fields["PeriodType"],
        "Frequency": int(order.fields["Frequency"]),
        "ExecTimes": order.exec_times,
        "PeriodAmount": order.period_amount,
        "amount": order.amount,
        "gwsr": int(first.gwsr) if first else 0,
        "process_date": format_trade_date(first.processed_at) if first else "",
        "auth_code": first.auth_code if first else "",
        "card4no": "2222",
        "card6no": "431195",
        "TotalSuccessTimes": order.total_success_times,
        "TotalSuccessAmount": sum(c.amount for c in order.charges if c.success),
        "ExecStatus": order.exec_status,
        "ExecLog": [
            {
                "RtnCode": int(c.rtn_code),
                "RtnMsg": c.rtn_msg,
                "amount": c.amount,
                "gwsr": int(c.gwsr),
                "process_date": format_trade_date(c.processed_at),
                "auth_code": c.auth_code,
                "TradeNo": order.trade_no,
            }
            for c in order.charges
        ],
    }
