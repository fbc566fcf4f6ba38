"""What a SaaS backend asks about its customers: find one by its own id (external_id) and
read what they may use right now (entitlements)."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from services.api.resources.common import (
    authenticated,
    clock,
    document_errors,
    page_body,
    page_schema,
)
from services.api.resources.entitlements.schemas import (
    CustomerListArgsSchema,
    EntitlementsSchema,
)
from services.api.resources.users.schemas import UserSchema
from services.core.usecases.integrations import entitlements, external_ids
from services.core.usecases.integrations.api_keys import BILLING_READ
from services.web.auth import current_user
from services.web.uow import db_session

blp = Blueprint("entitlements", __name__, url_prefix="/api/customers",
                description="Customers and entitlements")
CustomerPageSchema = page_schema(UserSchema, "CustomerPage")


@blp.route("/")
class Customers(MethodView):
    @authenticated(blp, staff=True, scope=BILLING_READ)
    @document_errors(blp, 422)
    @blp.arguments(CustomerListArgsSchema(), location="query")
    @blp.response(200, CustomerPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Customers (no staff accounts), oldest first; `external_id` finds the one the SaaS
        linked (staff, or an API key with billing:read)."""
        return page_body(external_ids.list_customers(db_session(), **args))


@blp.route("/by-external-id/<string:external_id>/")
class CustomerByExternalId(MethodView):
    @authenticated(blp, staff=True, scope=BILLING_READ)
    @document_errors(blp, 404)
    @blp.response(200, UserSchema)
    def get(self, external_id: str) -> Any:
        """The customer with this external id (staff, or an API key with billing:read)."""
        return external_ids.by_external_id(db_session(), external_id)


@blp.route("/<uuid:customer_id>/entitlements/")
class Entitlements(MethodView):
    @authenticated(blp, scope=BILLING_READ)
    @document_errors(blp, 404)
    @blp.response(200, EntitlementsSchema)
    def get(self, customer_id: uuid.UUID) -> Any:
        """What the customer may use now: the plans that grant access and why (trial, paid,
        cancelling, grace), the union of their features, the largest limits, and until when
        without another payment. For an API key with billing:read, staff, or the customer
        themself (anyone else: 404)."""
        return entitlements.for_customer(db_session(), clock(), current_user(),
                                         user_id=customer_id)


@blp.route("/by-external-id/<string:external_id>/entitlements/")
class EntitlementsByExternalId(MethodView):
    @authenticated(blp, scope=BILLING_READ)
    @document_errors(blp, 404)
    @blp.response(200, EntitlementsSchema)
    def get(self, external_id: str) -> Any:
        """The same, naming the customer by the SaaS's own id (what a backend runs at login)."""
        return entitlements.for_customer(db_session(), clock(), current_user(),
                                         external_id=external_id)
