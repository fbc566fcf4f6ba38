"""Order endpoints: list, place (idempotently), read."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from services.api.resources.common import (
    actor,
    authenticated,
    clock,
    document_errors,
    page_body,
    page_schema,
)
from services.api.resources.orders.schemas import (
    IdempotencyHeaderSchema,
    OrderCreateSchema,
    OrderListArgsSchema,
    OrderNotesSchema,
    OrderSchema,
)
from services.core.usecases import orders
from services.core.usecases.backoffice import annotations
from services.core.usecases.integrations.api_keys import BILLING_READ
from services.web.auth import current_user
from services.web.reads import read_session
from services.web.requests import client_ip
from services.web.uow import db_session, jobs

blp = Blueprint("orders", __name__, url_prefix="/api/orders", description="Orders")
OrderPageSchema = page_schema(OrderSchema, "OrderPage")


@blp.route("/")
class Orders(MethodView):
    @authenticated(blp, scope=BILLING_READ)
    @document_errors(blp, 422)
    @blp.arguments(OrderListArgsSchema(), location="query")
    @blp.response(200, OrderPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Your orders, newest first (everyone's for staff)."""
        return page_body(orders.list_orders(read_session(), current_user(), **args))

    @authenticated(blp)
    @document_errors(blp, 400, 404, 409, 422)
    @blp.arguments(IdempotencyHeaderSchema(), location="headers")
    @blp.arguments(OrderCreateSchema())
    @blp.response(201, OrderSchema, headers={
        "Idempotent-Replayed": {"description": "true when this is the first order, replayed",
                                "schema": {"type": "string"}}})
    def post(self, headers: dict[str, Any], data: dict[str, Any]) -> Any:
        """Order a pending/trial/past-due subscription's unpaid period.

        The amount, currency and plan come from the subscription's plan. Send an
        `Idempotency-Key` to retry safely: a retry answers the first order with the same
        status and body; the same key with a different body is 409.
        """
        user = current_user()
        placed = orders.place_order(
            db_session(), clock(), actor(user), user, subscription_id=data["subscription_id"],
            payment_method=data["payment_method"], client_ip=client_ip(),
            idempotency_key=headers.get("idempotency_key"),
            invoice_preference=data.get("invoice"), jobs=jobs(),
            coupon_code=data.get("coupon_code"),
        )
        return placed.order, 201, {"Idempotent-Replayed": str(not placed.created).lower()}


@blp.route("/<uuid:order_id>/")
class OrderDetail(MethodView):
    @authenticated(blp, scope=BILLING_READ)
    @document_errors(blp, 404)
    @blp.response(200, OrderSchema)
    def get(self, order_id: uuid.UUID) -> Any:
        """One of your orders (any, for staff)."""
        return orders.get_order(db_session(), current_user(), order_id)

    @authenticated(blp, staff=True)
    @document_errors(blp, 404, 422)
    @blp.arguments(OrderNotesSchema())
    @blp.response(200, OrderSchema)
    def patch(self, data: dict[str, Any], order_id: uuid.UUID) -> Any:
        """Set or remove the note on an order (staff only); the customer sees it too."""
        caller = current_user()
        return annotations.annotate_order(db_session(), actor(caller), caller, order_id,
                                          data["notes"])
