"""ECPay's B2C e-invoice API under /B2CInvoice/ (AES envelope, Revision 3.0.0), simulated."""

from __future__ import annotations

import logging
import socket

from flask import Blueprint, Response, current_app, jsonify, request

from services.ecpay.einvoice.envelope import seal_response
from services.ecpay.simulator.einvoice_faults import BUSY, DROP, LOSE, MOF_DOWN, TOO_FAST
from services.ecpay.simulator.einvoice_ops import (
    TRANS_REFUSED,
    EInvoiceSim,
    EnvelopeRefused,
    now_timestamp,
)

bp = Blueprint("ecpay_einvoice", __name__, url_prefix="/B2CInvoice")
EXTENSION = "ecpay_einvoice_simulator"
log = logging.getLogger(__name__)

BUSY_ANSWER = {"RtnCode": 0, "RtnMsg": "系統忙碌中，請稍後再試"}
MOF_DOWN_ANSWER = {"RtnCode": 9000001, "RtnMsg": "呼叫財政部API失敗 (MOF API call failed)"}


def einvoice_sim() -> EInvoiceSim:
    simulator: EInvoiceSim = current_app.extensions[EXTENSION]
    return simulator


@bp.post("/<endpoint>")
def call(endpoint: str) -> Response | tuple[Response, int]:
    sim = einvoice_sim()
    if endpoint not in sim.handlers:
        return Response("Not Found", 404, mimetype="text/plain"), 404
    fault = sim.faults.take(endpoint)
    if fault == TOO_FAST:
        return Response("403 Forbidden: too many requests", 403, mimetype="text/plain"), 403
    stamp = now_timestamp(sim.clock.wall())
    if not request.is_json:
        return jsonify(_refusal(sim, "Content-Type 必須為 application/json", stamp)), 200
    try:
        data = sim.open_request(request.get_json(silent=True))
    except EnvelopeRefused as refused:
        return jsonify(_refusal(sim, refused.message, stamp)), 200
    if fault == BUSY:
        answer = BUSY_ANSWER
    elif fault == MOF_DOWN:
        answer = MOF_DOWN_ANSWER
    else:
        answer = sim.answer(endpoint, data)
    if fault == LOSE:
        # Done and stored, but the merchant never sees the answer.
        return Response("502 Bad Gateway", 502, mimetype="text/plain"), 502
    if fault == DROP:
        _drop_connection()
    return jsonify(seal_response(sim.keys, answer, stamp)), 200


def _refusal(sim: EInvoiceSim, message: str, stamp: int) -> dict[str, object]:
    return seal_response(sim.keys, None, stamp, trans_code=TRANS_REFUSED, trans_msg=message)


def _drop_connection() -> None:
    """Close the client's socket before any answer is written (werkzeug's server only)."""
    connection = request.environ.get("werkzeug.socket")
    if connection is None:
        raise RuntimeError("the drop fault needs the werkzeug server (it owns the socket)")
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError as exc:
        log.info("dropping e-invoice connection: %s", exc)
