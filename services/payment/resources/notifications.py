"""ECPay's server-to-server notifications: ReturnURL, PaymentInfoURL and PeriodReturnURL.

Each one is verified, judged and stored in the request's transaction; `1|OK` is sent only
after that transaction has committed (the unit of work turns a failed commit into a 503),
and the processing job is enqueued after the commit. No rate limit applies here: ECPay
must always get through; the body size is capped like every request.
"""

from __future__ import annotations

import logging

from flask import Response, g, request
from flask.views import MethodView
from flask_smorest import Blueprint

from services.core import metrics
from services.core.usecases.payment_notifications import Kind, Receipt, receive_notification
from services.payment import context
from services.web.uow import commit_on_error, db_session, jobs

log = logging.getLogger(__name__)

blp = Blueprint(
    "ecpay_notifications", __name__, url_prefix="/payment/ecpay",
    description="ECPay notifications (form-encoded, answered `1|OK` or `0|<reason>`).",
)


def receive(kind: Kind, form: dict[str, str]) -> Receipt:
    """The one intake of every notification, real or the development test payment."""
    receipt = receive_notification(
        db_session(), context.clock(), jobs(), kind=kind, form=form,
        credentials=context.credentials(), request_id=g.get("request_id"),
    )
    metrics.record_notification(
        str(kind), "duplicate" if receipt.duplicate else str(receipt.verdict)
    )
    log.info(
        "ecpay notification received",
        extra={"kind": str(kind), "verdict": str(receipt.verdict), "duplicate": receipt.duplicate,
               "notification_id": str(receipt.notification_id or "")},
    )
    return receipt


def answer(receipt: Receipt) -> Response:
    if receipt.acknowledged:
        return Response(receipt.answer, 200, mimetype="text/plain")
    commit_on_error()  # a refused notification is still recorded with its verdict
    return Response(receipt.answer, 400, mimetype="text/plain")


def _posted() -> dict[str, str]:
    return request.form.to_dict(flat=True)


@blp.route("/callback/")
class PaymentResult(MethodView):
    def post(self) -> Response:
        """ReturnURL: the result of a payment (RtnCode 1 = paid)."""
        return answer(receive(Kind.RETURN, _posted()))


@blp.route("/payment-info/")
class PaymentInfo(MethodView):
    def post(self) -> Response:
        """PaymentInfoURL: an ATM account, CVS code or barcodes were issued (not yet paid)."""
        return answer(receive(Kind.PAYMENT_INFO, _posted()))


@blp.route("/period/")
class PeriodicCharge(MethodView):
    def post(self) -> Response:
        """PeriodReturnURL: a later charge of a periodic (定期定額) card agreement."""
        return answer(receive(Kind.PERIOD, _posted()))
