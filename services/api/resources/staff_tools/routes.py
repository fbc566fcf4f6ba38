"""Staff tools (staff only, audited): extend a subscription for free, send a payment e-mail
again, and RQ's failed jobs with a requeue."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from services.api.resources.common import actor, authenticated, clock, document_errors
from services.api.resources.customers.schemas import ResendKeyHeaderSchema
from services.api.resources.staff_tools.schemas import (
    ExtendedSchema,
    ExtendSchema,
    FailedJobArgsSchema,
    FailedJobPageSchema,
    FailedJobSchema,
    OrderResendSchema,
    OrderResentSchema,
)
from services.core.usecases import audit
from services.core.usecases.backoffice import extensions, order_resend
from services.web.auth import current_user
from services.web.uow import app_redis, db_session, jobs
from services.worker import failed_jobs

blp = Blueprint("staff_tools", __name__, url_prefix="/api", description="Staff tools")


@blp.route("/subscriptions/<uuid:subscription_id>/extend/")
class SubscriptionExtend(MethodView):
    @authenticated(blp, staff=True)
    @document_errors(blp, 404, 409, 422)
    @blp.arguments(ResendKeyHeaderSchema(), location="headers")
    @blp.arguments(ExtendSchema())
    @blp.response(201, ExtendedSchema)
    def post(self, headers: dict[str, Any], data: dict[str, Any],
             subscription_id: uuid.UUID) -> Any:
        """Give an active subscription a free period: `days` more, or a new `end_date`, with a
        `reason` (staff only; audited). No order and no charge; the next renewal starts from
        the new end. An unpaid renewal order for the old end is closed. 409 `not_extendable`
        unless active, `card_agreement_active` while ECPay charges a card agreement,
        `plan_change_scheduled` while a plan change waits for the period end. With an
        `Idempotency-Key` a repeat returns the first extension."""
        user = current_user()
        return extensions.extend(
            db_session(), clock(), actor(user), user, subscription_id,
            extensions.ExtensionRequest(reason=data["reason"], days=data.get("days"),
                                        end_date=data.get("end_date"),
                                        request_key=headers.get("idempotency_key")))


@blp.route("/orders/<uuid:order_id>/resend/")
class OrderResend(MethodView):
    @authenticated(blp, staff=True)
    @document_errors(blp, 404, 409, 422)
    @blp.arguments(ResendKeyHeaderSchema(), location="headers")
    @blp.arguments(OrderResendSchema())
    @blp.response(202, OrderResentSchema)
    def post(self, headers: dict[str, Any], data: dict[str, Any], order_id: uuid.UUID) -> Any:
        """Send an order's payment e-mail again to the customer's current address, in their
        language (staff only; audited): `instructions` (the ATM, convenience-store or barcode
        code of an open order; 409 `no_payment_instructions` without one,
        `payment_code_expired` past its deadline) or `confirmation` (409 `order_not_paid`
        unless paid). With an `Idempotency-Key`, a repeat sends nothing more."""
        user = current_user()
        sent = order_resend.resend_payment_email(
            db_session(), clock(), jobs(), actor(user), user, order_id, kind=data["kind"],
            request_key=headers.get("idempotency_key"))
        return {"order_id": sent.order.id, "kind": sent.kind, "delivery_id": sent.delivery_id,
                "recipient": sent.recipient}, 202


@blp.route("/jobs/failed/")
class FailedJobs(MethodView):
    @authenticated(blp, staff=True)
    @document_errors(blp, 422)
    @blp.arguments(FailedJobArgsSchema(), location="query")
    @blp.response(200, FailedJobPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """RQ jobs that failed after their retries, most recent first, across every queue:
        queue, job, when and the exception's last line (staff only; never the arguments)."""
        page, size = args["page"], args["page_size"]
        found = failed_jobs.list_failed(app_redis(), page=page, page_size=size)
        return {"results": found.items, "total": found.total, "page": page,
                "page_size": size, "pages": -(-found.total // size)}


@blp.route("/jobs/failed/<string:job_id>/requeue/")
class FailedJobRequeue(MethodView):
    @authenticated(blp, staff=True)
    @document_errors(blp, 404)
    @blp.response(200, FailedJobSchema)
    def post(self, job_id: str) -> Any:
        """Put a failed job back on its queue with fresh retries (staff only; audited); 404
        when no failed job has this id (already requeued, or expired after seven days)."""
        user = current_user()
        # The audit row first: if the requeue fails, the request's rollback drops it.
        row = audit.record(db_session(), actor(user), "job_requeued", resource_type="job",
                           resource_id=job_id[:64], description=f"Requeued failed job {job_id}.")
        job = failed_jobs.requeue(app_redis(), job_id)
        row.description = f"Requeued failed {job.job} job {job.id} on {job.queue}."
        row.meta = {**(row.meta or {}), "queue": job.queue, "job": job.job}
        return job
