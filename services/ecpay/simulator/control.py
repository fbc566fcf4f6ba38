"""JSON control API under /_sim for tests and developers: move orders, read deliveries."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

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


@bp.post("/orders/<merchant_trade_no>/expire")
def expire(merchant_trade_no: str) -> Response:
    sim().expire(merchant_trade_no)
    return _answer(merchant_trade_no, None)


@bp.post("/orders/<merchant_trade_no>/issue-code")
def issue_code(merchant_trade_no: str) -> Response:
    """Body (optional): {"method": "ATM"|"CVS"|"BARCODE"}; sends PaymentInfoURL."""
    return _answer(merchant_trade_no, sim().issue_code(merchant_trade_no, _body().get("method")))


@bp.post("/orders/<merchant_trade_no>/period")
def period_charge(merchant_trade_no: str) -> Response:
    """Body (optional): {"success": false} for a declined charge; sends PeriodReturnURL."""
    success = _body().get("success", True) is not False
    return _answer(merchant_trade_no, sim().charge_period(merchant_trade_no, success))


@bp.get("/notifications")
def notifications() -> Response:
    """Every notification with its attempts; ?merchant_trade_no= and ?kind= filter."""
    rows = sim().notifier.snapshot(request.args.get("merchant_trade_no") or None)
    kind = request.args.get("kind")
    return jsonify(notifications=[row for row in rows if kind in (None, row["kind"])])
