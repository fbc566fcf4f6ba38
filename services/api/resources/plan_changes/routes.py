"""Plan changes (preview, apply, the open change and its cancellation) and credit balances."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from services.api.resources.common import actor, authenticated, clock, document_errors
from services.api.resources.orders.schemas import IdempotencyHeaderSchema
from services.api.resources.plan_changes.schemas import (
    AppliedChangeSchema,
    ApplyChangeSchema,
    CreditArgsSchema,
    CreditBalanceSchema,
    CreditEntrySchema,
    GoodwillSchema,
    PlanChangeSchema,
    QuoteSchema,
)
from services.core.db.models import PlanChange
from services.core.errors import NotFound, PermissionDenied
from services.core.usecases import audit, credits
from services.core.usecases.plan_changes import apply
from services.core.usecases.subscriptions import get_subscription
from services.web.auth import current_user
from services.web.uow import db_session, jobs

blp = Blueprint("plan_changes", __name__, url_prefix="/api",
                description="Plan changes and credit balances")


@blp.route("/subscriptions/<uuid:subscription_id>/change-plan/preview/")
class ChangePlanPreview(MethodView):
    @authenticated(blp)
    @document_errors(blp, 404, 409, 422)
    @blp.arguments(ApplyChangeSchema())
    @blp.response(200, QuoteSchema)
    def post(self, data: dict[str, Any], subscription_id: uuid.UUID) -> Any:
        """The exact lines of changing plan, changing nothing: credit for the unused days of
        the old plan, charge for them on the new one, net, tax and when it takes effect.

        Pass the returned `proration_date` to the change itself to get the same numbers.
        """
        return apply.quote_answer(apply.preview(db_session(), clock(), current_user(),
                                                subscription_id, **data))


@blp.route("/subscriptions/<uuid:subscription_id>/change-plan/")
class ChangePlan(MethodView):
    @authenticated(blp)
    @document_errors(blp, 404, 409, 422)
    @blp.arguments(IdempotencyHeaderSchema(), location="headers")
    @blp.arguments(ApplyChangeSchema())
    @blp.response(200, AppliedChangeSchema)
    def post(self, headers: dict[str, Any], data: dict[str, Any],
             subscription_id: uuid.UUID) -> Any:
        """Change plan (owner or staff). An immediate upgrade returns the order of its net:
        the plan switches once it is paid. A downgrade is scheduled for the period end (its
        card agreement stops now; the new plan is billed by link). A newer change replaces
        an open one. Send an `Idempotency-Key` to retry safely: a retry answers the first
        change (409 if the key was used with another body)."""
        user = current_user()
        change = apply.change_plan(db_session(), clock(), jobs(), actor(user), user,
                                   subscription_id, **data,
                                   idempotency_key=headers.get("idempotency_key"))
        return apply.change_answer(change)

    @authenticated(blp)
    @document_errors(blp, 404)
    @blp.response(200, PlanChangeSchema)
    def get(self, subscription_id: uuid.UUID) -> Any:
        """The open change: a scheduled downgrade, or an upgrade whose order is payable."""
        sub = get_subscription(db_session(), current_user(), subscription_id)
        change = apply.open_change(db_session(), sub.id)
        if change is None:
            raise NotFound("This subscription has no open plan change.")
        return change

    @authenticated(blp)
    @document_errors(blp, 404, 409)
    @blp.response(200, PlanChangeSchema)
    def delete(self, subscription_id: uuid.UUID) -> PlanChange:
        """Withdraw the open change before it takes effect (its unpaid order closes)."""
        user = current_user()
        return apply.cancel_scheduled(db_session(), clock(), actor(user), user, subscription_id)


@blp.route("/credits/")
class Credits(MethodView):
    @authenticated(blp)
    @document_errors(blp, 403, 422)
    @blp.arguments(CreditArgsSchema(), location="query")
    @blp.response(200, CreditBalanceSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Your credit balance and its latest entries (staff: any customer's, `user_id`)."""
        user = current_user()
        user_id = args.get("user_id") or user.id
        if user_id != user.id and not user.is_staff:
            raise PermissionDenied("Only staff see another customer's credit.")
        session = db_session()
        return {"user_id": user_id, "balance": str(credits.balance(session, user_id)),
                "entries": credits.entries(session, user_id,
                                           limit=args["page_size"])}

    @authenticated(blp, staff=True)
    @document_errors(blp, 403, 422)
    @blp.arguments(GoodwillSchema())
    @blp.response(201, CreditEntrySchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Give a customer goodwill credit (staff); it is used first on their next order."""
        user = current_user()
        session = db_session()
        entry = credits.grant(session, user_id=data["user_id"], amount=data["amount"],
                              kind="goodwill", note=data["note"], created_by=user.id)
        audit.record(session, actor(user), "credit_goodwill", resource_type="user",
                     resource_id=data["user_id"], user_id=data["user_id"],
                     description=f"Goodwill credit {data['amount']}: {data['note']}",
                     meta={"amount": str(data["amount"]), "credit_entry_id": str(entry.id)})
        return entry
