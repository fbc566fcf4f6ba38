"""User endpoints: staff administration, self-service profile, password change."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from services.api.resources.auth.schemas import TokenPairSchema
from services.api.resources.common import (
    PageArgsSchema,
    actor,
    authenticated,
    clock,
    document_errors,
    page_body,
    page_schema,
    signer,
)
from services.api.resources.users.schemas import (
    ChangePasswordSchema,
    UserCreateSchema,
    UserListArgsSchema,
    UserPatchSchema,
    UserSchema,
    UserUpdateSchema,
)
from services.core.errors import PermissionDenied
from services.core.usecases import users
from services.core.usecases.backoffice import customers
from services.core.usecases.integrations import external_ids
from services.core.usecases.integrations.api_keys import BILLING_READ, BILLING_WRITE
from services.web.api_keys import current_key
from services.web.auth import current_user
from services.web.reads import read_session
from services.web.uow import app_settings, db_session, jobs

blp = Blueprint("users", __name__, url_prefix="/api/users", description="Users")
UserPageSchema = page_schema(UserSchema, "UserPage")


class UserListQuerySchema(PageArgsSchema, UserListArgsSchema):
    pass


@blp.route("/")
class Users(MethodView):
    @authenticated(blp, staff=True)
    @document_errors(blp, 422)
    @blp.arguments(UserListQuerySchema(), location="query")
    @blp.response(200, UserPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """List users (staff only); filter by `is_active` or a `search` on name and e-mail;
        `q` finds customers by the start of their e-mail, username, name, company, 統編 or
        one of their order numbers."""
        if args.get("q", "").strip():
            return page_body(customers.search(read_session(), args["q"], page=args["page"],
                                              page_size=args["page_size"]))
        args.pop("q", None)
        return page_body(users.list_users(read_session(), **args))

    @authenticated(blp, staff=True)
    @document_errors(blp, 400, 409, 413, 422)
    @blp.arguments(UserCreateSchema())
    @blp.response(201, UserSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a user (staff only), possibly staff or already verified."""
        caller = current_user()
        return users.create_user(db_session(), actor(caller), caller, data)


@blp.route("/me/")
class Me(MethodView):
    @authenticated(blp)
    @blp.response(200, UserSchema)
    def get(self) -> Any:
        """The account of the access token."""
        return current_user()


@blp.route("/change_password/")
class ChangePassword(MethodView):
    @authenticated(blp)
    @document_errors(blp, 400, 422)
    @blp.arguments(ChangePasswordSchema())
    @blp.response(200, TokenPairSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Change your password (the current one is required).

        Every existing login is revoked; the answer carries a fresh token pair for this
        client.
        """
        user = current_user()
        return users.change_password(
            db_session(), clock(), signer(), actor(user), user,
            old_password=data["old_password"], new_password=data["new_password"],
            refresh_days=app_settings().jwt_refresh_days,
        )


@blp.route("/<uuid:user_id>/")
class UserDetail(MethodView):
    @authenticated(blp, scope=BILLING_READ)
    @document_errors(blp, 404)
    @blp.response(200, UserSchema)
    def get(self, user_id: uuid.UUID) -> Any:
        """A user: yourself, or anyone for staff (and an API key with billing:read)."""
        return users.get_user(db_session(), current_user(), user_id)

    @authenticated(blp)
    @document_errors(blp, 400, 403, 404, 409, 413, 422)
    @blp.arguments(UserUpdateSchema())
    @blp.response(200, UserSchema)
    def put(self, data: dict[str, Any], user_id: uuid.UUID) -> Any:
        """Replace a user's profile (self or staff).

        Only staff change the flags `is_staff`, `is_superuser`, `is_verified`, `is_active`,
        and never on themselves.
        """
        caller = current_user()
        return users.update_user(db_session(), actor(caller), caller, user_id, data,
                                 email_change=_email_change())

    @authenticated(blp, scope=BILLING_WRITE)
    @document_errors(blp, 400, 403, 404, 409, 413, 422)
    @blp.arguments(UserPatchSchema(partial=True))
    @blp.response(200, UserSchema)
    def patch(self, data: dict[str, Any], user_id: uuid.UUID) -> Any:
        """Change some of a user's fields (same rules as PUT); `external_id` only by staff or
        an API key with billing:write, which may change nothing else."""
        caller = current_user()
        if current_key() is not None and set(data) != {"external_id"}:
            raise PermissionDenied("An API key may change only external_id.")
        linking = "external_id" in data
        external_id = data.pop("external_id", None)
        user = caller
        if data or not linking:
            user = users.update_user(db_session(), actor(caller), caller, user_id, data,
                                     email_change=_email_change())
        if linking:
            user = external_ids.set_external_id(db_session(), actor(caller), caller, user_id,
                                                external_id)
        return user

    @authenticated(blp, staff=True)
    @document_errors(blp, 404, 409)
    @blp.response(204)
    def delete(self, user_id: uuid.UUID) -> None:
        """Deactivate a user (staff only); the account and its history stay."""
        caller = current_user()
        users.deactivate_user(db_session(), clock(), actor(caller), caller, user_id)


def _email_change() -> users.EmailChangeMail:
    return users.EmailChangeMail(clock(), jobs(), app_settings().dashboard_url)
