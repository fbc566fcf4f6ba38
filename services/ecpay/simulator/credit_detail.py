"""The simulator's CreditDetail/DoAction and CreditDetail/QueryTrade/V2, and /_sim controls."""

from __future__ import annotations

import json
from urllib.parse import quote

from flask import Blueprint, Response, current_app, jsonify, request

from services.ecpay.checkmac import CHECK_MAC_FIELD, verify_check_mac_value
from services.ecpay.credit_detail import DO_ACTION_PATH, QUERY_CARD_TRADE_PATH
from services.ecpay.simulator.card_ledger import LOSE, REFUSE, RTN_FAULT, UNAVAILABLE, CardLedger
from services.ecpay.simulator.checks import TIMESTAMP_WINDOW_SECONDS
from services.ecpay.simulator.store import SimError

EXTENSION = "ecpay_card_ledger"
DO_ACTION_REQUIRED = (
    "MerchantID",
    "MerchantTradeNo",
    "TradeNo",
    "Action",
    "TotalAmount",
    CHECK_MAC_FIELD,
)
# QueryTrade/V2 exactly as documented (?p=2894 zh, ?p=16589 en): keyed by the authorization.
QUERY_FIELDS = frozenset(
    {"MerchantID", "CreditRefundId", "CreditAmount", "CreditCheckCode", CHECK_MAC_FIELD}
)

bp = Blueprint("ecpay_credit_detail", __name__)
control_bp = Blueprint("ecpay_credit_control", __name__, url_prefix="/_sim/credit")


def ledger() -> CardLedger:
    result: CardLedger = current_app.extensions[EXTENSION]
    return result


def _checked(required: tuple[str, ...]) -> dict[str, str]:
    form = request.form.to_dict(flat=True)
    missing = [name for name in required if not form.get(name)]
    if missing:
        raise SimError("10200050", f"{missing[0]} Error: required")
    config = ledger().sim.config
    if form["MerchantID"] != config.merchant_id:
        raise SimError("10200051", "MerchantID Error: unknown merchant")
    if not verify_check_mac_value(form, config.hash_key, config.hash_iv):
        raise SimError("10200073", "CheckMacValue Error")
    stamp = form.get("TimeStamp")
    if stamp is not None:
        wall = ledger().sim.clock.wall().timestamp()
        if not stamp.isdigit() or abs(wall - int(stamp)) > TIMESTAMP_WINDOW_SECONDS:
            raise SimError("10200050", "TimeStamp Error: older than 3 minutes")
    return form


def _form_body(fields: dict[str, str]) -> str:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in fields.items())


@bp.post(DO_ACTION_PATH)
def do_action() -> Response:
    """`RtnCode=1&RtnMsg=...&MerchantID=...&MerchantTradeNo=...&TradeNo=...` (unsigned; the
    docs do not say it is signed), refusals in the same shape with HTTP 200."""
    form = request.form.to_dict(flat=True)
    base = {
        "MerchantID": form.get("MerchantID", ""),
        "MerchantTradeNo": form.get("MerchantTradeNo", ""),
        "TradeNo": form.get("TradeNo", ""),
    }
    fault = ledger().take_fault()
    if fault is not None and fault.kind == UNAVAILABLE:
        return Response("Service Unavailable", status=503)
    if fault is not None and fault.kind == REFUSE:
        return Response(
            _form_body(base | {"RtnCode": RTN_FAULT, "RtnMsg": fault.message}), mimetype="text/html"
        )
    try:
        ledger().do_action(_checked(DO_ACTION_REQUIRED))
        fields = base | {"RtnCode": "1", "RtnMsg": "成功"}
    except SimError as error:
        fields = base | {"RtnCode": error.code, "RtnMsg": error.message}
    if fault is not None and fault.kind == LOSE:
        return Response("Bad Gateway", status=502)
    return Response(_form_body(fields), mimetype="text/html")


def _query_form() -> dict[str, str]:
    """The documented form or RtnMsg `error`; `error_Stop` for another merchant. Extra fields
    (the old MerchantTradeNo/TradeNo/TimeStamp form) are refused: the harsher reading of a
    page that lists exactly these five."""
    form = request.form.to_dict(flat=True)
    config = ledger().sim.config
    if set(form) != QUERY_FIELDS or not all(form.values()):
        raise SimError("error", "fields other than the documented five")
    if form["MerchantID"] != config.merchant_id:
        raise SimError("error_Stop", "unknown merchant")
    if not verify_check_mac_value(form, config.hash_key, config.hash_iv):
        raise SimError("error", "CheckMacValue")
    if form["CreditCheckCode"] != config.credit_check_code:
        raise SimError("error", "CreditCheckCode")
    return form


@bp.post(QUERY_CARD_TRADE_PATH)
def query_trade() -> Response:
    """ECPay's JSON: {"RtnMsg": "", "RtnValue": {...}}, or RtnMsg error_Stop / error_nopay /
    error with an empty RtnValue."""
    try:
        form = _query_form()
        record = ledger().authorization(form["CreditRefundId"], form["CreditAmount"])
        answer: dict[str, object] = {"RtnMsg": "", "RtnValue": record.to_json()}
    except SimError as error:
        answer = {"RtnMsg": error.code if error.code.startswith("error") else "error",
                  "RtnValue": ""}
    return Response(json.dumps(answer, ensure_ascii=False), mimetype="application/json")


@control_bp.errorhandler(SimError)
def _refused(error: SimError) -> tuple[Response, int]:
    return jsonify(code=error.code, message=error.message), error.status


@control_bp.get("/<merchant_trade_no>")
def show(merchant_trade_no: str) -> Response:
    """The card record: state, amount, clsamt, refunded, operations."""
    return jsonify(ledger().snapshot(merchant_trade_no))


@control_bp.post("/<merchant_trade_no>/capture")
def capture(merchant_trade_no: str) -> Response:
    """The daily capture batch runs for this trade now."""
    ledger().capture_now(merchant_trade_no)
    return jsonify(ledger().snapshot(merchant_trade_no))


@control_bp.post("/config")
def configure() -> Response:
    """Body: {"auto_capture": bool}: trades paid from now on start authorized (false) or with
    their capture requested (true, ECPay's usual setting)."""
    data = request.get_json(silent=True) or {}
    if not isinstance(data.get("auto_capture"), bool):
        raise SimError("400", "auto_capture must be true or false")
    ledger().auto_capture = data["auto_capture"]
    return jsonify(auto_capture=ledger().auto_capture)


@control_bp.post("/faults")
def add_fault() -> Response:
    """Body: {"kind": "unavailable"|"lose"|"refuse", "count"?: 1, "message"?}: the next
    DoAction calls fail that way."""
    data = request.get_json(silent=True) or {}
    count = data.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool):
        raise SimError("400", "count must be an integer")
    ledger().add_fault(
        str(data.get("kind", "")), count, str(data.get("message") or "系統維護中 (simulated)")
    )
    return jsonify(ok=True)
