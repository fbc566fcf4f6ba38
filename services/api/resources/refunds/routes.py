"""Refund endpoints: staff refund a paid order and confirm manual transfers; a customer reads
their own order's refunds."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from services.api.resources.common import actor, authenticated, clock, document_errors
from services.api.resources.refunds.schemas import (
    RefundConfirmSchema,
    RefundCreateSchema,
    RefundKeyHeaderSchema,
    RefundListSchema,
    RefundSchema,
    ReviewRefundSchema,
)
from services.core.usecases.refunds import requests
from services.core.usecases.refunds.settle import returned_total
from services.core.usecases.refunds.unused import UNUSED
from services.web.auth import current_user
from services.web.uow import db_session, jobs

blp = Blueprint("refunds", __name__, url_prefix="/api", description="Refunds")


@blp.route("/orders/<uuid:order_id>/refunds/")
class OrderRefunds(MethodView):
    @authenticated(blp)
    @document_errors(blp, 404)
    @blp.response(200, RefundListSchema)
    def get(self, order_id: uuid.UUID) -> Any:
        """An order's refunds, oldest first (staff; the customer for their own order)."""
        session = db_session()
        found = requests.list_refunds(session, current_user(), order_id)
        return {"results": found, "refunded_amount": returned_total(session, order_id)}

    @authenticated(blp, staff=True)
    @document_errors(blp, 404, 409, 422)
    @blp.arguments(RefundKeyHeaderSchema(), location="headers")
    @blp.arguments(RefundCreateSchema())
    @blp.response(201, RefundSchema, headers={
        "Idempotent-Replayed": {"description": "true when this is the first refund, replayed",
                                "schema": {"type": "string"}}})
    def post(self, headers: dict[str, Any], data: dict[str, Any], order_id: uuid.UUID) -> Any:
        """Refund a paid order in full or in part (staff only; `Idempotency-Key` required).

        A card payment goes back through ECPay (`status` requested → sent → succeeded or
        failed, never during ECPay's 20:15–20:30 capture batch); ATM, CVS and barcode
        payments are `owed` until a bank transfer is confirmed. The refunds of an order never
        exceed what was paid (409 `refund_exceeds_paid`). `cancel_subscription` is `now`,
        `at_period_end` or `no`. `amount` `"unused"` with `cancel_subscription` `now` gives
        back the days left of the period the order paid, day-based (409 `no_unused_days` when
        it pays no running period); a card agreement's charge is refunded only in full (409
        `partial_refund_not_allowed`). Afterwards the e-invoice is voided or given an allowance and
        the customer is e-mailed. The same key again answers the first refund; with another
        body it is 409 `idempotency_key_reused`.
        """
        user = current_user()
        placed = requests.request_refund(
            db_session(), clock(), jobs(), actor(user), user, order_id,
            amount=data["amount"] if data["amount"] == UNUSED else Decimal(data["amount"]),
            reason=data["reason"], cancel_subscription=data["cancel_subscription"],
            idempotency_key=headers["idempotency_key"], review_id=data.get("review_id"))
        return placed.refund, 201, {"Idempotent-Replayed": str(not placed.created).lower()}


@blp.route("/refunds/<uuid:refund_id>/confirm/")
class RefundConfirm(MethodView):
    @authenticated(blp, staff=True)
    @document_errors(blp, 404, 409, 422)
    @blp.arguments(RefundConfirmSchema())
    @blp.response(200, RefundSchema)
    def post(self, data: dict[str, Any], refund_id: uuid.UUID) -> Any:
        """Confirm the bank transfer of an owed manual refund with its reference (staff only).

        Confirming again with the same reference answers the same refund; another reference
        is 409 `refund_already_confirmed`; a card refund is 409 `refund_not_owed`.
        """
        user = current_user()
        return requests.confirm_transfer(db_session(), clock(), jobs(), actor(user), user,
                                         refund_id, reference=data["reference"])


@blp.route("/payment-reviews/<uuid:review_id>/refund/")
class ReviewRefund(MethodView):
    @authenticated(blp, staff=True)
    @document_errors(blp, 404, 409, 422)
    @blp.arguments(RefundKeyHeaderSchema(), location="headers")
    @blp.arguments(ReviewRefundSchema())
    @blp.response(201, RefundSchema)
    def post(self, headers: dict[str, Any], data: dict[str, Any], review_id: uuid.UUID) -> Any:
        """Refund a payment review item decided `refund_needed` (staff; `Idempotency-Key`).

        The money goes back from the item's own trade, up to its amount (the whole amount when
        `amount` is omitted); the order it names keeps its payment, invoice and e-invoice.
        409 `review_not_refund_needed` for an item with another decision,
        `review_without_order` for money that names no order of ours.
        """
        user = current_user()
        amount = Decimal(data["amount"]) if data.get("amount") else None
        placed = requests.refund_review(
            db_session(), clock(), jobs(), actor(user), user, review_id, amount=amount,
            reason=data["reason"], idempotency_key=headers["idempotency_key"])
        return placed.refund, 201
