"""Checkout: the signed ECPay form for the customer's browser, and the way back from ECPay."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask import redirect, request
from flask.views import MethodView
from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint
from werkzeug.wrappers import Response

from services.core.usecases.checkout import CheckoutUrls, create_checkout
from services.payment import context
from services.web.auth import current_user
from services.web.uow import db_session

blp = Blueprint(
    "ecpay_checkout", __name__, url_prefix="/payment/ecpay",
    description="Paying an order at ECPay.",
)


class CheckoutRequest(ma.Schema):
    order_id = ma.fields.UUID(required=True)


class CheckoutForm(ma.Schema):
    action = ma.fields.String(metadata={"description": "ECPay's AioCheckOut V5 URL"})
    method = ma.fields.String(metadata={"description": "always POST"})
    # `fields` would shadow Schema.fields: the attribute has another name, the key is "fields".
    form_fields = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.String(), data_key="fields",
        metadata={"description": "every field to post, CheckMacValue included"},
    )


@blp.route("/create/")
class CreateCheckout(MethodView):
    @jwt_required()
    @blp.arguments(CheckoutRequest)
    @blp.response(200, CheckoutForm)
    @blp.doc(security=[{"bearerAuth": []}])
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """The signed form that pays one of your pending orders; the browser posts it."""
        settings = context.settings()
        form = create_checkout(
            db_session(), context.clock(), user_id=current_user().id,
            order_id=body["order_id"], credentials=context.credentials(),
            urls=CheckoutUrls.under(settings.public_payment_url),
        )
        return {"action": form.action_url, "method": "POST", "form_fields": dict(form.fields)}


@blp.route("/return/")
class CustomerReturn(MethodView):
    def _back(self) -> Response:
        # Only a well-formed order id reaches the URL; the target is always the dashboard.
        dashboard = context.settings().dashboard_url.rstrip("/")
        try:
            order_id = uuid.UUID(request.args.get("order_id", ""))
        except ValueError:
            return redirect(f"{dashboard}/orders", 303)
        return redirect(f"{dashboard}/orders/{order_id}", 303)

    def get(self) -> Response:
        """Where ECPay sends the customer back: redirect to the dashboard's order page."""
        return self._back()

    def post(self) -> Response:
        """Where ECPay posts the customer's browser after paying (OrderResultURL)."""
        return self._back()
