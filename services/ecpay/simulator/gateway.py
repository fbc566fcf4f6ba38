"""The ECPay-facing endpoints: AioCheckOut V5, its payment page, the queries, PeriodAction."""

from __future__ import annotations

import json
from urllib.parse import quote

from flask import Blueprint, Response, current_app, request

from services.ecpay.simulator import pages
from services.ecpay.simulator.engine import Simulator
from services.ecpay.simulator.store import PAID, SimError, SimOrder

bp = Blueprint("ecpay_gateway", __name__)


def sim() -> Simulator:
    simulator: Simulator = current_app.extensions["ecpay_simulator"]
    return simulator


def _html(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/html")


def _form() -> dict[str, str]:
    return request.form.to_dict(flat=True)


@bp.errorhandler(SimError)
def _refused(error: SimError) -> Response:
    # ECPay shows its error as a page with the code and message; the text keeps both.
    return _html(pages.error_page(error.body), error.status)


@bp.post("/Cashier/AioCheckOut/V5")
def aio_checkout() -> Response:
    try:
        order = sim().checkout(_form())
    except SimError as error:
        # ECPay shows checkout refusals (e.g. 10200047 MerchantTradeNo is duplicate) to the
        # browser as an HTML page with HTTP 200: a merchant cannot rely on the status code.
        return _html(pages.error_page(error.body), 200)
    return _html(pages.order_page(order))


def _after_payment(order: SimOrder) -> Response:
    result_url = order.fields.get("OrderResultURL", "")
    if result_url:
        return _html(pages.auto_post(result_url, sim().result_form(order), "Returning to shop"))
    message = "付款成功 Payment succeeded" if order.status == PAID else "付款失敗 Payment failed"
    return _html(pages.order_page(order, message))


@bp.post("/SimulatorPage/<merchant_trade_no>/pay")
def page_pay(merchant_trade_no: str) -> Response:
    sim().pay(merchant_trade_no, request.form.get("method") or None)
    return _after_payment(sim().get(merchant_trade_no))


@bp.post("/SimulatorPage/<merchant_trade_no>/fail")
def page_fail(merchant_trade_no: str) -> Response:
    sim().fail(merchant_trade_no, request.form.get("method") or None)
    return _after_payment(sim().get(merchant_trade_no))


@bp.post("/SimulatorPage/<merchant_trade_no>/issue-code")
def page_issue_code(merchant_trade_no: str) -> Response:
    sim().issue_code(merchant_trade_no, request.form.get("method") or None)
    order = sim().get(merchant_trade_no)
    redirect_url = order.fields.get("ClientRedirectURL", "")
    if redirect_url:
        return _html(pages.auto_post(redirect_url, sim().sign(order.code_info), "Payment code"))
    return _html(pages.order_page(order, "取號成功 Code issued: pay it at the bank or store"))


@bp.get("/SimulatorPage/<merchant_trade_no>")
def page_show(merchant_trade_no: str) -> Response:
    return _html(pages.order_page(sim().get(merchant_trade_no)))


@bp.post("/Cashier/QueryTradeInfo/V5")
def query_trade_info() -> Response:
    try:
        body = sim().query_trade(_form())
    except SimError as error:
        return Response(error.body, status=200, mimetype="text/html")
    return Response(body, mimetype="text/html")


@bp.post("/Cashier/QueryCreditCardPeriodInfo")
def query_period_info() -> Response:
    try:
        data = sim().query_period(_form())
    except SimError as error:
        return Response(error.body, status=200, mimetype="text/html")
    return Response(json.dumps(data, ensure_ascii=False), mimetype="application/json")


def _form_body(fields: dict[str, str]) -> str:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in fields.items())


@bp.post("/Cashier/CreditCardPeriodAction")
def period_action() -> Response:
    """Answers `RtnCode=...&RtnMsg=...&MerchantID=...&MerchantTradeNo=...` (unsigned), also
    for refusals, since ECPay's SDK parses this answer as a URL-encoded string."""
    form = _form()
    try:
        fields = sim().agreements.action(form)
    except SimError as error:
        fields = {
            "RtnCode": error.code,
            "RtnMsg": error.message,
            "MerchantID": form.get("MerchantID", ""),
            "MerchantTradeNo": form.get("MerchantTradeNo", ""),
        }
    return Response(_form_body(fields), mimetype="text/html")
