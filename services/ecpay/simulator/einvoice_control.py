"""JSON control API of the simulated e-invoice account under /_sim/einvoice."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from services.ecpay.simulator.einvoice import einvoice_sim
from services.ecpay.simulator.einvoice_checks import SimAnswer
from services.ecpay.simulator.einvoice_faults import KINDS

bp = Blueprint("ecpay_einvoice_control", __name__, url_prefix="/_sim/einvoice")


@bp.errorhandler(SimAnswer)
def _refused(error: SimAnswer) -> tuple[Response, int]:
    return jsonify(code=error.code, message=error.message), 409


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


@bp.get("")
def list_invoices() -> Response:
    """Every invoice (newest last) with its allowances, and the allowances on their own."""
    sim = einvoice_sim()
    sim.book.expire_consents(sim.clock.now())
    invoices = [invoice.to_json() for invoice in sim.book.invoices()]
    allowances = [a for invoice in invoices for a in invoice["allowances"]]
    return jsonify(invoices=invoices, allowances=allowances, faults=sim.faults.snapshot())


@bp.get("/faults")
def show_faults() -> Response:
    return jsonify(faults=einvoice_sim().faults.snapshot(), kinds=list(KINDS))


@bp.post("/faults")
def add_fault() -> tuple[Response, int]:
    """Body: {"kind": one of KINDS, "count": N (default 1), "endpoints": ["Issue", ...]}."""
    body = _body()
    count, endpoints = body.get("count", 1), body.get("endpoints") or []
    if isinstance(count, bool) or not isinstance(count, int) or not isinstance(endpoints, list):
        return jsonify(message="count must be an integer and endpoints a list"), 400
    unknown = [name for name in endpoints if name not in einvoice_sim().handlers]
    if unknown:
        return jsonify(message=f"unknown endpoints: {unknown}"), 400
    try:
        einvoice_sim().faults.add(str(body.get("kind")), count, frozenset(endpoints))
    except ValueError as exc:
        return jsonify(message=str(exc)), 400
    return jsonify(faults=einvoice_sim().faults.snapshot()), 200


@bp.delete("/faults")
def clear_faults() -> Response:
    einvoice_sim().faults.clear()
    return jsonify(faults=[])


@bp.post("/allowances/<allowance_no>/consent")
def consent(allowance_no: str) -> Response:
    """The buyer agrees to an online allowance; ECPay then posts the merchant's ReturnURL."""
    return jsonify(einvoice_sim().consent(allowance_no))
