"""Test clocks (staff, only where FLUXUS_TEST_CLOCKS is on): create, get, list, advance,
delete, and the clock's test customers."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from services.api.resources.common import (
    PageArgsSchema,
    actor,
    authenticated,
    clock,
    document_errors,
    page_body,
    page_schema,
)
from services.api.resources.test_clocks.schemas import (
    AdvanceSchema,
    CustomerCreateSchema,
    CustomerListSchema,
    CustomerSchema,
    TestClockCreateSchema,
    TestClockSchema,
)
from services.core.usecases.test_clocks import clocks
from services.web.auth import current_user
from services.web.uow import app_settings, db_session, jobs

blp = Blueprint("test_clocks", __name__, url_prefix="/api/test-clocks",
                description="Test clocks: advance test customers' billing through time")
ClockPageSchema = page_schema(TestClockSchema, "TestClockPage")


@blp.route("/")
class TestClocks(MethodView):
    @authenticated(blp, staff=True)
    @blp.arguments(PageArgsSchema(), location="query")
    @blp.response(200, ClockPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Every test clock, newest first (staff)."""
        return page_body(clocks.list_clocks(db_session(), app_settings(), current_user(), **args))

    @authenticated(blp, staff=True)
    @document_errors(blp, 422)
    @blp.arguments(TestClockCreateSchema())
    @blp.response(201, TestClockSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a test clock at `frozen_time` (default now); 403 `test_clocks_disabled`
        unless the deployment sets FLUXUS_TEST_CLOCKS."""
        user = current_user()
        made = clocks.create(db_session(), clock(), app_settings(), actor(user), user,
                             name=data["name"], frozen_time=data.get("frozen_time"))
        return made.as_dict(), 201


@blp.route("/<uuid:clock_id>/")
class TestClock(MethodView):
    @authenticated(blp, staff=True)
    @document_errors(blp, 404)
    @blp.response(200, TestClockSchema)
    def get(self, clock_id: uuid.UUID) -> Any:
        """One test clock: its time and whether an advance is running (staff)."""
        return clocks.get(db_session(), app_settings(), current_user(), clock_id).as_dict()

    @authenticated(blp, staff=True)
    @document_errors(blp, 404, 409)
    @blp.response(204)
    def delete(self, clock_id: uuid.UUID) -> Any:
        """Delete the clock; its customers are deactivated and stay off production's jobs."""
        user = current_user()
        clocks.delete(db_session(), clock(), app_settings(), actor(user), user, clock_id)
        return None


@blp.route("/<uuid:clock_id>/advance/")
class Advance(MethodView):
    @authenticated(blp, staff=True)
    @document_errors(blp, 404, 409, 422)
    @blp.arguments(AdvanceSchema())
    @blp.response(202, TestClockSchema)
    def post(self, data: dict[str, Any], clock_id: uuid.UUID) -> Any:
        """Move the clock forward to `frozen_time` (never back): status `advancing` until a
        job has run every renewal, dunning, trial, expiry and e-invoice step on the way."""
        user = current_user()
        view = clocks.request_advance(db_session(), app_settings(), jobs(), actor(user), user,
                                      clock_id, data["frozen_time"])
        return view.as_dict(), 202


@blp.route("/<uuid:clock_id>/customers/")
class Customers(MethodView):
    @authenticated(blp, staff=True)
    @document_errors(blp, 404)
    @blp.response(200, CustomerListSchema)
    def get(self, clock_id: uuid.UUID) -> Any:
        """The clock's test customers (staff)."""
        return {"results": clocks.customers(db_session(), app_settings(), current_user(),
                                            clock_id)}

    @authenticated(blp, staff=True)
    @document_errors(blp, 404, 409, 422)
    @blp.arguments(CustomerCreateSchema())
    @blp.response(201, CustomerSchema)
    def post(self, data: dict[str, Any], clock_id: uuid.UUID) -> Any:
        """Create a test customer on the clock; they log in and subscribe like anyone, and
        only this clock's advances bill them."""
        user = current_user()
        return clocks.add_customer(db_session(), app_settings(), actor(user), user, clock_id,
                                   data), 201
