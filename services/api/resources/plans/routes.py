"""Plan endpoints: public, read-only."""

from __future__ import annotations

import functools
import uuid
from typing import Any, cast

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema
from webargs.flaskparser import FlaskParser

from services.api.resources.common import PageArgsSchema, document_errors, page_schema
from services.api.resources.plans.list_cache import PlanListCache, PlanRows
from services.api.resources.plans.schemas import PlanSchema
from services.core.usecases import billing_queries
from services.web.reads import read_session
from services.web.uow import db_session


class _NoQueryDefaults(FlaskParser):
    """webargs' parser, except that a request without a query string gets the query
    schema's defaults as loaded the first time: the page arguments' answer to nothing is
    always page 1 of 20, and loading the schema was a tenth of the cached list's time."""

    def __init__(self) -> None:
        super().__init__()
        self._defaults: dict[int, dict[str, Any]] = {}

    def parse(self, argmap: Any, req: Any = None, *, location: str | None = None,
              **kwargs: Any) -> Any:
        if (location != "query" or not isinstance(argmap, Schema) or kwargs.get("validate")
                or (req or request).query_string):
            return super().parse(argmap, req, location=location, **kwargs)
        defaults = self._defaults.get(id(argmap))
        if defaults is None:
            defaults = super().parse(argmap, req, location=location, **kwargs)
            self._defaults[id(argmap)] = defaults
        return dict(defaults)


class _PlanBlueprint(Blueprint):
    ARGUMENTS_PARSER = _NoQueryDefaults()


blp = _PlanBlueprint("plans", __name__, url_prefix="/api/plans", description="Plans (public)")
PlanPageSchema = page_schema(PlanSchema, "PlanPage")
LIST_CACHE = "fluxus_plan_list"
_DUMP_PLANS = PlanSchema(many=True)


def install_plan_list_cache(extensions: dict[str, Any], max_age: float) -> None:
    extensions[LIST_CACHE] = PlanListCache(max_age)


def _read_plans() -> PlanRows:
    return list(_DUMP_PLANS.dump(billing_queries.active_plans(read_session())))


def _render(document: dict[str, Any]) -> bytes:
    # Exactly the bytes smorest's jsonify would have written.
    return cast(Response, current_app.json.response(document)).get_data()


@functools.cache
def _cache_control(max_age: int) -> str:
    """The Cache-Control value for `max_age` as werkzeug writes it, worked out once."""
    response = Response()
    response.cache_control.public = True
    if max_age:
        response.cache_control.max_age = max_age
    else:
        response.cache_control.no_cache = True
    return response.headers["Cache-Control"]


@blp.route("/")
class Plans(MethodView):
    @document_errors(blp, 422)
    @blp.arguments(PageArgsSchema(), location="query")
    @blp.response(200, PlanPageSchema, headers={
        "ETag": {"description": "send it back as If-None-Match to get 304 if nothing changed",
                 "schema": {"type": "string"}},
        "Cache-Control": {"description": "how long the list may be reused",
                          "schema": {"type": "string"}}})
    @blp.alt_response(304, description="Not modified: the If-None-Match ETag is current.")
    def get(self, args: dict[str, Any]) -> Any:
        """Active plans in display order; no login needed.

        Each API process reads the list again at most every `FLUXUS_PLAN_LIST_CACHE_SECONDS`
        (5 by default), so a Plan change shows within that time.
        """
        cache: PlanListCache = current_app.extensions[LIST_CACHE]
        rendered = cache.page(_read_plans, _render, page=args["page"],
                              page_size=args["page_size"])
        response = Response(rendered.body, mimetype="application/json", headers={
            "ETag": f'"{rendered.etag}"', "Cache-Control": _cache_control(int(cache.max_age))})
        return response.make_conditional(request)


@blp.route("/<uuid:plan_id>/")
class PlanDetail(MethodView):
    @document_errors(blp, 404)
    @blp.response(200, PlanSchema)
    def get(self, plan_id: uuid.UUID) -> Any:
        """One active plan."""
        return billing_queries.get_plan(db_session(), plan_id)
