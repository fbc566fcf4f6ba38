"""The simulator's control page at `/`: every order and agreement, with buttons.

Plain server-rendered forms (no script): each posts to a small endpoint that does what the
JSON control API does and redirects back to `/` with the outcome in `?msg=`.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from urllib.parse import quote

from flask import Blueprint, Response, current_app, redirect, request

from services.ecpay.simulator import einvoice_console, pages
from services.ecpay.simulator.engine import OFFLINE, Simulator
from services.ecpay.simulator.periodic import next_charge_date
from services.ecpay.simulator.store import CODE_ISSUED, PAID, PENDING, SimError, SimOrder

bp = Blueprint("ecpay_sim_console", __name__)

EXEC_STATUS_LABEL = {"0": "0 cancelled", "1": "1 running", "2": "2 finished"}


def sim() -> Simulator:
    simulator: Simulator = current_app.extensions["ecpay_simulator"]
    return simulator


def _method() -> str | None:
    return request.form.get("method") or None


def _amount() -> int | str:
    text = request.form.get("amount", "")
    return int(text) if text.isdigit() else text


# Each console action mirrors a /_sim endpoint of the JSON control API.
ACTIONS: dict[str, Callable[[str], object]] = {
    "pay": lambda no: sim().pay(no, _method()),
    "fail": lambda no: sim().fail(no, _method()),
    "simulate": lambda no: sim().simulate_paid(no, _method()),
    "issue-code": lambda no: sim().issue_code(no, _method()),
    # A person pressing "expire" means it; the JSON API keeps the force flag explicit.
    "expire": lambda no: sim().expire(no, force=True),
    "charge": lambda no: sim().charge_period(no, True),
    "decline": lambda no: sim().charge_period(no, False),
    "cancel-agreement": lambda no: sim().agreements.cancel(no, "cancelled in the dashboard"),
    "period-amount": lambda no: sim().agreements.set_amount(no, _amount()),
}


def _back(message: str) -> Response:
    return redirect("/?msg=" + quote(message), code=303)  # type: ignore[return-value]


@bp.post("/console/orders/<merchant_trade_no>/<action>")
def act(merchant_trade_no: str, action: str) -> Response:
    run = ACTIONS.get(action)
    if run is None:
        return _back(f"unknown action {action}")
    try:
        run(merchant_trade_no)
    except SimError as error:
        return _back(f"{merchant_trade_no} {action} refused: {error.body}")
    return _back(f"{merchant_trade_no}: {action} done")


@bp.post("/console/deliver-due")
def deliver_due() -> Response:
    released = sim().notifier.release_due()
    return _back(f"released {len(released)} held notification(s)")


def _button(no: str, action: str, label: str, method: str = "") -> str:
    hidden = f'<input type="hidden" name="method" value="{escape(method)}">' if method else ""
    url = escape(f"/console/orders/{quote(no, safe='')}/{action}")
    return (
        f'<form method="post" action="{url}" class="act">{hidden}'
        f'<button type="submit" name="do" value="{escape(action)}">{escape(label)}</button></form>'
    )


def _offline_methods(order: SimOrder) -> list[str]:
    return [m for m in OFFLINE if order.choose_payment in ("ALL", m)]


def _buttons(order: SimOrder) -> str:
    no = order.merchant_trade_no
    out: list[str] = []
    if order.status == PENDING:
        if order.choose_payment in ("ALL", "Credit"):
            out.append(_button(no, "pay", "pay", "Credit"))
        out += [_button(no, "issue-code", f"issue {m} code", m) for m in _offline_methods(order)]
    if order.status == CODE_ISSUED:
        out.append(_button(no, "pay", "pay the code"))
    if order.status in (PENDING, CODE_ISSUED):
        out += [
            _button(no, "fail", "fail"),
            _button(no, "simulate", "simulate (SimulatePaid=1)"),
            _button(no, "expire", "expire"),
        ]
    if order.is_periodic and order.status == PAID and order.exec_status == "1":
        out += [
            _button(no, "charge", "charge next period"),
            _button(no, "decline", "decline next period"),
            _button(no, "cancel-agreement", "cancel agreement"),
            _amount_form(no),
        ]
    return "".join(out)


def _amount_form(no: str) -> str:
    url = escape(f"/console/orders/{quote(no, safe='')}/period-amount")
    return (
        f'<form method="post" action="{url}" class="act">'
        '<input name="amount" size="6" inputmode="numeric" aria-label="periodic amount">'
        '<button type="submit" name="do" value="period-amount">set amount</button></form>'
    )


def _agreement(order: SimOrder) -> str:
    if not order.is_periodic:
        return ""
    if not order.charges:
        return f"not authorized yet; {order.exec_times} charges planned"
    nxt = next_charge_date(order)
    parts = [
        f"ExecStatus {EXEC_STATUS_LABEL[order.exec_status]}",
        f"{order.periods_run}/{order.exec_times} periods",
        f"{order.total_success_times} ok, {order.failed_charges} failed",
        f"NT$ {order.period_amount} each",
    ]
    if nxt is not None:
        parts.append(f"next {nxt:%Y/%m/%d}")
    if order.cancel_reason:
        parts.append(order.cancel_reason)
    return "; ".join(parts)


def _row(order: SimOrder) -> str:
    cells = [
        order.merchant_trade_no,
        order.trade_no,
        f"NT$ {order.amount}",
        order.payment_type or order.choose_payment,
        order.status,
        _agreement(order),
    ]
    tds = "".join(f"<td>{escape(cell)}</td>" for cell in cells)
    return f'<tr id="{escape(order.merchant_trade_no)}">{tds}<td>{_buttons(order)}</td></tr>'


@bp.get("/")
def index() -> Response:
    message = request.args.get("msg", "")
    note = f'<p class="msg"><strong>{escape(message)}</strong></p>' if message else ""
    head = "".join(
        f"<th>{escape(h)}</th>"
        for h in ("MerchantTradeNo", "TradeNo", "amount", "method", "status", "agreement", "")
    )
    rows = "".join(_row(order) for order in reversed(sim().orders()))
    held = sum(1 for d in sim().notifier.snapshot() if d["state"] == "held")
    release = (
        '<form method="post" action="/console/deliver-due" class="act">'
        f'<button type="submit">deliver due held notifications ({held} held)</button></form>'
    )
    body = (
        f"{note}<p>Simulator clock: {escape(f'{sim().clock.now():%Y/%m/%d %H:%M:%S %Z}')}</p>"
        f"{release}<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
        f"{einvoice_console.section()}"
    )
    return Response(pages.page("ECPay simulator — orders", body, wide=True), mimetype="text/html")
