"""Account endpoints: register, log in, refresh, log out, verify e-mail, reset password."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_jwt_extended import decode_token, get_jwt
from flask_jwt_extended.exceptions import JWTExtendedException
from flask_smorest import Blueprint
from jwt.exceptions import PyJWTError

from services.api.resources.auth.schemas import (
    EmailSchema,
    LoginResponseSchema,
    LoginSchema,
    LogoutSchema,
    PasswordResetConfirmSchema,
    RefreshSchema,
    RegisterSchema,
    TokenPairSchema,
    TokenSchema,
)
from services.api.resources.common import (
    MessageSchema,
    actor,
    authenticated,
    clock,
    document_errors,
    signer,
)
from services.api.throttle import auth_throttle
from services.core.errors import AuthenticationError
from services.core.metrics import record_login_failure
from services.core.usecases import auth, auth_tokens
from services.web.auth import current_user
from services.web.requests import client_ip
from services.web.uow import app_settings, commit_on_error, db_session, jobs

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Accounts and tokens")


@blp.route("/register/")
class Register(MethodView):
    @document_errors(blp, 400, 409, 413, 422)
    @blp.arguments(RegisterSchema())
    @blp.response(202, MessageSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Sign up; the e-mail sent to the address says what happened.

        The answer is the same whether or not the address or username already has an
        account: a new account gets a welcome and a verification link; a taken address is
        told it already has an account; a taken username is told to choose another.
        """
        auth_throttle().attempt("register", ip=client_ip(), account=data["email"])
        profile = {k: v for k, v in data.items()
                   if k not in ("username", "email", "password", "password_confirm")}
        auth.register(
            db_session(), clock(), jobs(), actor(), username=data["username"],
            email=data["email"], password=data["password"],
            dashboard_url=app_settings().dashboard_url, profile=profile,
        )
        return {"detail": "Check your e-mail: we sent the next step to the address you gave."}


@blp.route("/login/")
class Login(MethodView):
    @document_errors(blp, 400, 401, 422)
    @blp.arguments(LoginSchema())
    @blp.response(200, LoginResponseSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Log in with a username or e-mail address and a password."""
        login = data.get("username") or data["email"]
        # One count per account whether it is named by username or e-mail address.
        known = auth.find_user_by_login(db_session(), login)
        account = str(known.id) if known is not None else login
        throttle = auth_throttle()
        throttle.attempt("login", ip=client_ip(), account=account)
        commit_on_error()  # a failed attempt is audited even though the answer is 401
        try:
            result = auth.login(
                db_session(), clock(), signer(), actor(), login=login,
                password=data["password"], refresh_days=app_settings().jwt_refresh_days,
            )
        except AuthenticationError:
            record_login_failure()
            raise
        throttle.forget_account("login", account)
        return {"access": result.tokens.access, "refresh": result.tokens.refresh,
                "user": result.user}


@blp.route("/refresh/")
class Refresh(MethodView):
    @document_errors(blp, 400, 401, 422)
    @blp.arguments(RefreshSchema())
    @blp.response(200, TokenPairSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Trade a refresh token for a new pair.

        Each refresh token works once; presenting a used one again revokes every token of
        that login.
        """
        auth_throttle().attempt("refresh", ip=client_ip(),
                                account=_refresh_subject(data["refresh"]))
        commit_on_error()  # reuse detection revokes the family while answering 401
        return auth_tokens.rotate_refresh_token(
            db_session(), clock(), signer(), actor(), data["refresh"],
            refresh_days=app_settings().jwt_refresh_days,
        )


@blp.route("/logout/")
class Logout(MethodView):
    @authenticated(blp)
    @document_errors(blp, 400, 422)
    @blp.arguments(LogoutSchema())
    @blp.response(204)
    def post(self, data: dict[str, Any]) -> None:
        """Revoke the access token used and the given refresh token (its whole login)."""
        user = current_user()
        auth_tokens.logout(db_session(), clock(), signer(), actor(user), user,
                           access_claims=get_jwt(), refresh_token=data.get("refresh"))


@blp.route("/verify-email/")
class VerifyEmail(MethodView):
    @document_errors(blp, 400, 422)
    @blp.arguments(TokenSchema())
    @blp.response(200, MessageSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Confirm the e-mail address with the token from the mailed link."""
        auth.verify_email(db_session(), clock(), actor(), token=data["token"])
        return {"detail": "Your e-mail address is verified."}


@blp.route("/verify-email/resend/")
class ResendVerification(MethodView):
    @document_errors(blp, 400, 422)
    @blp.arguments(EmailSchema())
    @blp.response(202, MessageSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Mail a new verification link (the answer is the same for unknown addresses)."""
        auth.resend_verification(db_session(), clock(), jobs(), email=data["email"],
                                 dashboard_url=app_settings().dashboard_url)
        return {"detail": "If the address needs verifying, a new link is on its way."}


@blp.route("/password-reset/")
class PasswordReset(MethodView):
    @document_errors(blp, 400, 422)
    @blp.arguments(EmailSchema())
    @blp.response(202, MessageSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Mail a password-reset link; the answer never tells whether the address exists."""
        auth_throttle().attempt("password_reset", ip=client_ip(), account=data["email"])
        auth.request_password_reset(db_session(), clock(), jobs(), actor(),
                                    email=data["email"],
                                    dashboard_url=app_settings().dashboard_url)
        return {"detail": "If the address belongs to an account, a reset link is on its way."}


@blp.route("/password-reset/confirm/")
class PasswordResetConfirm(MethodView):
    @document_errors(blp, 400, 422)
    @blp.arguments(PasswordResetConfirmSchema())
    @blp.response(200, MessageSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Set a new password with the mailed single-use token; every login is revoked."""
        user = auth.confirm_password_reset(db_session(), clock(), actor(),
                                           token=data["token"], password=data["password"])
        # The owner proved control of the mailbox: a log-in delay others caused ends here.
        auth_throttle().forget_account("login", str(user.id))
        return {"detail": "Your password is changed; log in with the new one."}


def _refresh_subject(token: str) -> str | None:
    """The account a well-signed refresh token names (None for garbage: per IP only)."""
    try:
        payload = decode_token(token, allow_expired=True)
    except (PyJWTError, JWTExtendedException):
        return None
    return str(payload.get("sub")) if payload.get("sub") else None
