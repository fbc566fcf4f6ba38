"""Plan endpoints: public, read-only."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from services.api.resources.common import PageArgsSchema, document_errors, page_body, page_schema
from services.api.resources.plans.schemas import PlanSchema
from services.core.usecases import billing_queries
from services.web.reads import read_session
from services.web.uow import db_session

blp = Blueprint("plans", __name__, url_prefix="/api/plans", description="Plans (public)")
PlanPageSchema = page_schema(PlanSchema, "PlanPage")


@blp.route("/")
class Plans(MethodView):
    @document_errors(blp, 422)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, PlanPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Active plans in display order; no login needed."""
        return page_body(billing_queries.list_plans(read_session(), **args))


@blp.route("/<uuid:plan_id>/")
class PlanDetail(MethodView):
    @document_errors(blp, 404)
    @blp.response(200, PlanSchema)
    def get(self, plan_id: uuid.UUID) -> Any:
        """One active plan."""
        return billing_queries.get_plan(db_session(), plan_id)
