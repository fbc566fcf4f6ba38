"""Subscription endpoints: list, subscribe, read, auto-renew on/off, change status."""

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
from services.api.resources.subscriptions.schemas import (
    StatusChangeSchema,
    SubscriptionCreateSchema,
    SubscriptionListArgsSchema,
    SubscriptionSchema,
    SubscriptionUpdateSchema,
)
from services.core.usecases import subscriptions
from services.core.usecases.integrations.api_keys import BILLING_READ
from services.web.auth import current_user
from services.web.reads import read_session
from services.web.uow import db_session, jobs

blp = Blueprint("subscriptions", __name__, url_prefix="/api/subscriptions",
                description="Subscriptions")
SubscriptionPageSchema = page_schema(SubscriptionSchema, "SubscriptionPage")


@blp.route("/")
class Subscriptions(MethodView):
    @authenticated(blp, scope=BILLING_READ)
    @document_errors(blp, 422)
    @blp.arguments(SubscriptionListArgsSchema(), location="query")
    @blp.response(200, SubscriptionPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Your subscriptions; staff see everyone's (filter by `status`, `user_id`)."""
        return page_body(subscriptions.list_subscriptions(read_session(), current_user(), **args))

    @authenticated(blp)
    @document_errors(blp, 400, 409, 422)
    @blp.arguments(SubscriptionCreateSchema())
    @blp.response(201, SubscriptionSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Subscribe to a plan: `pending` until paid, or `trial` when the plan has trial days.

        A second live subscription to the same plan is refused (409). A `coupon_code` is
        redeemed on it; one that cannot be is 422 with the reason as `code`.
        """
        user = current_user()
        return subscriptions.subscribe(db_session(), clock(), actor(user), user,
                                       plan_id=data["plan_id"], auto_renew=data["auto_renew"],
                                       coupon_code=data.get("coupon_code"))


@blp.route("/<uuid:subscription_id>/")
class SubscriptionDetail(MethodView):
    @authenticated(blp, scope=BILLING_READ)
    @document_errors(blp, 404)
    @blp.response(200, SubscriptionSchema)
    def get(self, subscription_id: uuid.UUID) -> Any:
        """One of your subscriptions (any, for staff)."""
        return subscriptions.get_subscription(db_session(), current_user(), subscription_id)

    @authenticated(blp)
    @document_errors(blp, 400, 404, 409, 422)
    @blp.arguments(SubscriptionUpdateSchema())
    @blp.response(200, SubscriptionSchema)
    def patch(self, data: dict[str, Any], subscription_id: uuid.UUID) -> Any:
        """Turn auto-renew on or off. On also withdraws a pending cancel-at-period-end;
        a subscription that is no longer live is 409."""
        user = current_user()
        return subscriptions.set_auto_renew(db_session(), clock(), jobs(), actor(user), user,
                                            subscription_id, auto_renew=data["auto_renew"])


@blp.route("/<uuid:subscription_id>/update_status/")
class SubscriptionStatus(MethodView):
    @authenticated(blp)
    @document_errors(blp, 400, 404, 409, 422)
    @blp.arguments(StatusChangeSchema())
    @blp.response(200, SubscriptionSchema)
    def patch(self, data: dict[str, Any], subscription_id: uuid.UUID) -> Any:
        """Change a subscription's status: customers cancel, staff follow the state machine.

        Customers may only cancel: now, or with `at_period_end` at the end of the paid
        period (auto-renew off, status stays until `end_date`; a subscription with no period
        yet is cancelled now). Staff may make any transition the state machine allows.
        Anything else is 409.
        """
        user = current_user()
        return subscriptions.change_status(db_session(), clock(), jobs(), actor(user), user,
                                           subscription_id, **data)
