"""Shared steps of the simulator integration tests (checkout, control API, waiting)."""

from __future__ import annotations

import calendar
import dataclasses
import uuid
from datetime import datetime
from typing import Any

import httpx

from services.core.clock import SystemClock
from services.ecpay.checkout import CheckoutOrder, ChoosePayment, PeriodicPlan, build_checkout
from services.ecpay.credentials import EcpayCredentials
from services.ecpay.fields import TAIPEI

# The receiver fixture's type lives in conftest, which tests must not import.
Receiver = Any


def trade_no() -> str:
    return "IT" + uuid.uuid4().hex[:18].upper()


def order(receiver: Receiver, no: str, **changes: Any) -> CheckoutOrder:
    base = CheckoutOrder(
        merchant_trade_no=no,
        total_amount=990,
        trade_desc="Fluxus 訂閱",
        item_name="Fluxus Pro 月費",
        return_url=f"{receiver.base_url}/return/{no}",
        choose_payment=ChoosePayment.CREDIT,
        custom_fields=("sub-42",),
    )
    return dataclasses.replace(base, **changes)


def periodic(receiver: Receiver, no: str, kind: str = "M", times: int = 12) -> CheckoutOrder:
    plan = PeriodicPlan(990, kind, 1, times, f"{receiver.base_url}/period/{no}")
    return order(receiver, no, periodic=plan)


def checkout(credentials: EcpayCredentials, wanted: CheckoutOrder) -> httpx.Response:
    form = build_checkout(credentials, wanted, now=SystemClock())
    return httpx.post(form.action_url, data=dict(form.fields), timeout=10)


def control(simulator: str, no: str, action: str, body: dict[str, Any] | None = None) -> Any:
    """A /_sim/orders/<no>/<action> call that must succeed; its JSON answer."""
    response = httpx.post(f"{simulator}/_sim/orders/{no}/{action}", json=body or {}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def refused(simulator: str, no: str, action: str, body: dict[str, Any] | None = None) -> int:
    """A /_sim call that must be refused; its HTTP status."""
    response = httpx.post(f"{simulator}/_sim/orders/{no}/{action}", json=body or {}, timeout=10)
    assert response.status_code >= 400, response.text
    return response.status_code


def sim_order(simulator: str, no: str) -> dict[str, Any]:
    order_json: dict[str, Any] = httpx.get(f"{simulator}/_sim/orders/{no}", timeout=10).json()
    return order_json["order"]


def notifications(simulator: str, no: str, kind: str | None = None) -> list[dict[str, Any]]:
    params = {"merchant_trade_no": no} | ({"kind": kind} if kind else {})
    response = httpx.get(f"{simulator}/_sim/notifications", params=params, timeout=10)
    rows: list[dict[str, Any]] = response.json()["notifications"]
    return rows


def months_later(moment: datetime, months: int) -> datetime:
    """The test's own oracle for ECPay's month step: same day, clamped to the month's end."""
    local = moment.astimezone(TAIPEI)
    index = local.month - 1 + months
    year, month = local.year + index // 12, index % 12 + 1
    return local.replace(
        year=year, month=month, day=min(local.day, calendar.monthrange(year, month)[1])
    )
