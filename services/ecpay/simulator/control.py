"""JSON control API under /_sim for tests and developers: move orders, read deliveries."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from services.ecpay.fields import format_trade_date
from services.ecpay.simulator.engine import Simulator
from services.ecpay.simulator.notifier import Delivery
from services.ecpay.simulator.store import SimError

bp = Blueprint("ecpay_sim_control", __name__, url_prefix="/_sim")


def sim() -> Simulator:
    simulator: Simulator = current_app.extensions["ecpay_simulator"]
    return simulator


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def _answer(merchant_trade_no: str, delivery: Delivery | None) -> Response:
    return jsonify(
        order=sim().get(merchant_trade_no).to_json(), delivery_id=delivery.id if delivery else None
    )


@bp.errorhandler(SimError)
def _refused(error: SimError) -> tuple[Response, int]:
    return jsonify(code=error.code, message=error.message), error.status


@bp.get("/health")
def health() -> Response:
    return jsonify(ok=True, merchant_id=sim().config.merchant_id)


@bp.get("/orders")
def list_orders() -> Response:
    return jsonify(orders=[order.to_json() for order in sim().orders()])


@bp.get("/orders/<merchant_trade_no>")
def show_order(merchant_trade_no: str) -> Response:
    return jsonify(order=sim().get(merchant_trade_no).to_json())


@bp.post("/orders/<merchant_trade_no>/pay")
def pay(merchant_trade_no: str) -> Response:
    """Body (optional): {"method": "Credit"|"ATM"|"CVS"|"BARCODE"} for ChoosePayment=ALL."""
    return _answer(merchant_trade_no, sim().pay(merchant_trade_no, _body().get("method")))


@bp.post("/orders/<merchant_trade_no>/fail")
def fail(merchant_trade_no: str) -> Response:
    """Body (optional): {"method", "rtn_code", "rtn_msg"}."""
    body = _body()
    options = {k: str(body[k]) for k in ("rtn_code", "rtn_msg") if k in body}
    return _answer(merchant_trade_no, sim().fail(merchant_trade_no, body.get("method"), **options))


@bp.post("/orders/<merchant_trade_no>/simulate")
def simulate(merchant_trade_no: str) -> Response:
    """Body (optional): {"method"}; ReturnURL with SimulatePaid=1, the order stays unpaid."""
    delivery = sim().simulate_paid(merchant_trade_no, _body().get("method"))
    return _answer(merchant_trade_no, delivery)


@bp.post("/orders/<merchant_trade_no>/expire")
def expire(merchant_trade_no: str) -> Response:
    """Body (optional): {"force": true} expires an issued code before its ExpireDate."""
    sim().expire(merchant_trade_no, force=_body().get("force") is True)
    return _answer(merchant_trade_no, None)


@bp.post("/orders/<merchant_trade_no>/issue-code")
def issue_code(merchant_trade_no: str) -> Response:
    """Body (optional): {"method": "ATM"|"CVS"|"BARCODE"}; sends PaymentInfoURL."""
    return _answer(merchant_trade_no, sim().issue_code(merchant_trade_no, _body().get("method")))


@bp.post("/orders/<merchant_trade_no>/period")
def period_charge(merchant_trade_no: str) -> Response:
    """Body (optional): {"success": false, "rtn_code"?, "rtn_msg"?}; the next scheduled
    charge, posted to PeriodReturnURL."""
    body = _body()
    success = body.get("success", True) is not False
    result = {k: str(body[k]) for k in ("rtn_code", "rtn_msg") if k in body}
    return _answer(merchant_trade_no, sim().charge_period(merchant_trade_no, success, **result))


@bp.post("/orders/<merchant_trade_no>/period-amount")
def period_amount(merchant_trade_no: str) -> Response:
    """Body: {"amount": 1234}: the dashboard's edit of the periodic amount (SUP-16214)."""
    sim().agreements.set_amount(merchant_trade_no, _body().get("amount"))
    return _answer(merchant_trade_no, None)


@bp.post("/orders/<merchant_trade_no>/period-cancel")
def period_cancel(merchant_trade_no: str) -> Response:
    """The dashboard cancels the agreement (same effect as CreditCardPeriodAction Cancel)."""
    sim().agreements.cancel(merchant_trade_no, "cancelled in the dashboard")
    return _answer(merchant_trade_no, None)


@bp.post("/deliver-due")
def deliver_due() -> Response:
    """Start the held deliveries (BARCODE results) whose simulator time has come."""
    return jsonify(released=sim().notifier.release_due())


@bp.get("/clock")
def show_clock() -> Response:
    return _clock_answer([])


@bp.post("/clock")
def advance_clock() -> Response:
    """Body: {"advance_seconds": N} moves the simulator calendar forward (never back)."""
    seconds = _body().get("advance_seconds")
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        raise SimError("400", "advance_seconds must be a number >= 0")
    return _clock_answer(sim().advance_clock(float(seconds)))


def _clock_answer(released: list[int]) -> Response:
    clock = sim().clock
    return jsonify(
        now=format_trade_date(clock.now()),
        offset_seconds=clock.offset.total_seconds(),
        released=released,
    )


@bp.get("/notifications")
def notifications() -> Response:
    """Every notification with its attempts; ?merchant_trade_no= and ?kind= filter."""
    rows = sim().notifier.snapshot(request.args.get("merchant_trade_no") or None)
    kind = request.args.get("kind")
    return jsonify(notifications=[row for row in rows if kind in (None, row["kind"])])
