"""Coupon endpoints for staff: create, list, read, deactivate, and apply to a subscription."""

from __future__ import annotations

import uuid
from decimal import Decimal
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
from services.api.resources.coupons.schemas import (
    CouponCodeSchema,
    CouponCreateSchema,
    CouponListArgsSchema,
    CouponSchema,
    RedemptionSchema,
)
from services.core.usecases import coupon_apply, coupons
from services.web.auth import current_user
from services.web.uow import db_session

blp = Blueprint("coupons", __name__, url_prefix="/api/coupons", description="Coupons (staff)")
# Applying one lives under its subscription; a second blueprint keeps the URL there.
subscription_blp = Blueprint("subscription_coupons", __name__, url_prefix="/api/subscriptions",
                             description="Coupons (staff)")
CouponPageSchema = page_schema(CouponSchema, "CouponPage")


@blp.route("/")
class Coupons(MethodView):
    @authenticated(blp, staff=True)
    @document_errors(blp, 422)
    @blp.arguments(CouponListArgsSchema(), location="query")
    @blp.response(200, CouponPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Coupons, newest first (staff only); `active` filters."""
        return page_body(coupons.list_coupons(db_session(), **args))

    @authenticated(blp, staff=True)
    @document_errors(blp, 409, 422)
    @blp.arguments(CouponCreateSchema())
    @blp.response(201, CouponSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a coupon (staff only): `percent_off` or `amount_off` (whole NT$, tax
        included), `duration` once / repeating (`duration_periods`) / forever, an optional
        `max_redemptions`, `redeem_by` and `plan_ids`. A code in use is 409."""
        user = current_user()
        amount_off = data.pop("amount_off", None)
        spec = coupons.CouponSpec(
            **{**data, "plan_ids": tuple(data["plan_ids"])},
            amount_off=None if amount_off is None else Decimal(amount_off))
        return coupons.create_coupon(db_session(), clock(), actor(user), user, spec)


@blp.route("/<string:code>/")
class CouponDetail(MethodView):
    @authenticated(blp, staff=True)
    @document_errors(blp, 404)
    @blp.response(200, CouponSchema)
    def get(self, code: str) -> Any:
        """One coupon by its code (staff only)."""
        return coupons.get_coupon(db_session(), code)


@blp.route("/<string:code>/deactivate/")
class CouponDeactivate(MethodView):
    @authenticated(blp, staff=True)
    @document_errors(blp, 404)
    @blp.response(200, CouponSchema)
    def post(self, code: str) -> Any:
        """Stop new redemptions (staff only); subscriptions that have it keep the discount."""
        return coupons.deactivate(db_session(), actor(current_user()), code)


@subscription_blp.route("/<uuid:subscription_id>/coupon/")
class SubscriptionCoupon(MethodView):
    @authenticated(subscription_blp, staff=True)
    @document_errors(subscription_blp, 404, 409, 422)
    @subscription_blp.arguments(CouponCodeSchema())
    @subscription_blp.response(201, RedemptionSchema)
    def post(self, data: dict[str, Any], subscription_id: uuid.UUID) -> Any:
        """Apply a coupon to a live subscription (staff only): its next orders are
        discounted, orders already placed keep their price. 422 with the reason as `code`
        (coupon_unknown, coupon_expired, coupon_exhausted, coupon_not_for_plan); 409 when
        it has a coupon already or is charged by a card agreement."""
        user = current_user()
        return coupon_apply.apply_by_staff(db_session(), clock(), actor(user), user,
                                           subscription_id, data["code"])
