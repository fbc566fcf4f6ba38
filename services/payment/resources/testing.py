"""Development only (not registered in production): pay an order as a real callback would."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint

from services.core.usecases.checkout import visible_order
from services.core.usecases.payment_notifications import Kind, simulated_return_fields
from services.core.usecases.payments import attempts
from services.payment import context
from services.payment.resources.notifications import receive
from services.web.auth import current_user
from services.web.uow import db_session

blp = Blueprint("payment_test", __name__, url_prefix="/payment/test",
                description="Development only: test payments.")


class TestPaymentRequest(ma.Schema):
    order_id = ma.fields.UUID(required=True)
    paid = ma.fields.Boolean(load_default=True, metadata={"description": "false: a declined one"})


class TestPaymentResult(ma.Schema):
    notification_id = ma.fields.UUID()
    verdict = ma.fields.String()
    duplicate = ma.fields.Boolean()
    answer = ma.fields.String(metadata={"description": "what ECPay would have been told"})


@blp.route("/")
class TestPayment(MethodView):
    @jwt_required()
    @blp.arguments(TestPaymentRequest)
    @blp.response(200, TestPaymentResult)
    @blp.doc(security=[{"bearerAuth": []}])
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Sign a ReturnURL notification for a new attempt at your order and feed it to the
        very intake ECPay's callbacks use; a worker then processes it."""
        order = visible_order(db_session(), body["order_id"], current_user())
        attempt = attempts.start(db_session(), context.clock(), order)
        fields = simulated_return_fields(
            order, attempt.merchant_trade_no, context.credentials(), context.clock().now(),
            paid=body["paid"],
        )
        receipt = receive(Kind.RETURN, fields)
        return {"notification_id": receipt.notification_id, "verdict": receipt.verdict,
                "duplicate": receipt.duplicate, "answer": receipt.answer}
