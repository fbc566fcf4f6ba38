"""The payment review queue, for staff: money that arrived but could not be applied."""

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
from services.api.resources.payment_reviews.schemas import (
    PaymentReviewListArgsSchema,
    PaymentReviewResolveSchema,
    PaymentReviewSchema,
)
from services.core.usecases.payments import review_queue
from services.web.auth import current_user
from services.web.reads import read_session
from services.web.uow import db_session

blp = Blueprint(
    "payment_reviews",
    __name__,
    url_prefix="/api/payment-reviews",
    description="Payment review queue (staff)",
)
PaymentReviewPageSchema = page_schema(PaymentReviewSchema, "PaymentReviewPage")


@blp.route("/")
class PaymentReviews(MethodView):
    @authenticated(blp, staff=True)
    @document_errors(blp, 422)
    @blp.arguments(PaymentReviewListArgsSchema(), location="query")
    @blp.response(200, PaymentReviewPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Parked payments, oldest first (staff only); filter by `status` and `reason`.

        Each item is money ECPay reported that could not be applied to an order: a second
        payment of a paid order, a payment after the order or subscription closed, a
        periodic charge nobody expected, an amount that differs. `?status=open` is the work
        left to do.
        """
        return page_body(review_queue.list_reviews(read_session(), **args))


@blp.route("/<uuid:review_id>/")
class PaymentReviewDetail(MethodView):
    @authenticated(blp, staff=True)
    @document_errors(blp, 404)
    @blp.response(200, PaymentReviewSchema)
    def get(self, review_id: uuid.UUID) -> Any:
        """One review item (staff only)."""
        return review_queue.get_review(db_session(), review_id)


@blp.route("/<uuid:review_id>/resolve/")
class PaymentReviewResolve(MethodView):
    @authenticated(blp, staff=True)
    @document_errors(blp, 404, 409, 422)
    @blp.arguments(PaymentReviewResolveSchema())
    @blp.response(200, PaymentReviewSchema)
    def post(self, data: dict[str, Any], review_id: uuid.UUID) -> Any:
        """Record what was done about an open item (staff only).

        `decision` is `applied` (the money was credited by hand), `refund_needed` (it must go
        back to the payer) or `dismissed` (nothing to do, e.g. a test payment); `note` says
        what and why. Only an open item can be resolved: otherwise 409 `review_not_open`
        (also for the loser of two simultaneous resolutions). Audited as
        `payment_review.resolved` under your account.
        """
        user = current_user()
        return review_queue.resolve(
            db_session(),
            clock(),
            actor(user),
            user,
            review_id,
            decision=data["decision"],
            note=data["note"],
        )
