"""Account use cases: register, log in, verify the e-mail address, reset a forgotten password."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import EmailDelivery, User, UserToken
from services.core.errors import AuthenticationError, Conflict, FieldProblem, ValidationError
from services.core.ports import Jobs
from services.core.usecases import audit
from services.core.usecases.audit import Actor
from services.core.usecases.auth_passwords import check_password, hash_password, validate_password
from services.core.usecases.auth_tokens import (
    TokenPair,
    TokenSigner,
    issue_tokens,
    revoke_user_tokens,
)
from services.core.usecases.emails import EmailRequest, queue_email, queue_emails

VERIFY_EMAIL = "verify_email"
PASSWORD_RESET = "password_reset"  # noqa: S105 - a token purpose, not a secret
TOKEN_LIFETIMES = {VERIFY_EMAIL: timedelta(hours=48), PASSWORD_RESET: timedelta(hours=1)}
TOKEN_PATHS = {VERIFY_EMAIL: "verify-email", PASSWORD_RESET: "reset-password"}
RESEND_PAUSE = timedelta(minutes=1)

PROFILE_FIELDS = ("first_name", "last_name", "phone", "company_name", "tax_id", "language")


@dataclass(frozen=True)
class LoginResult:
    tokens: TokenPair
    user: User


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def find_user_by_login(session: Session, login: str) -> User | None:
    """A user by username or e-mail address, case-insensitively."""
    lowered = login.strip().lower()
    return session.scalars(
        select(User).where(or_(func.lower(User.username) == lowered,
                               func.lower(User.email) == lowered))
    ).first()


def ensure_unique(session: Session, *, username: str | None, email: str | None,
                  exclude: uuid.UUID | None = None) -> None:
    errors: dict[str, list[str]] = {}
    for field, column, value in (("username", User.username, username),
                                 ("email", User.email, email)):
        if value is None:
            continue
        query = select(User.id).where(func.lower(column) == value.lower())
        if exclude is not None:
            query = query.where(User.id != exclude)
        if session.scalars(query).first() is not None:
            errors[field] = [FieldProblem(f"{field}_taken", f"This {field} is already taken.")]
    if errors:
        raise Conflict("An account with these details already exists.", errors=errors,
                       code="already_exists")


def flush_unique(session: Session) -> None:
    """Flush, turning a lost race on the unique username/e-mail into a 409."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("An account with these details already exists.",
                       code="already_exists") from exc


def register(
    session: Session, clock: Clock, jobs: Jobs, actor: Actor, *, username: str, email: str,
    password: str, dashboard_url: str, profile: dict[str, Any] | None = None,
) -> User | None:
    """Create a customer account and mail a welcome and an address-verification link.

    A taken address or username creates nothing and mails what happened instead (None is
    returned); the caller answers the same either way, so registration never tells anyone
    but the mailbox's reader whether an account exists.
    """
    email = email.strip().lower()
    validate_password(password, username=username, email=email)
    # Hashed in every case: the answer's timing must not tell either.
    password_hash = hash_password(password)
    if _registration_refused(session, jobs, actor, username=username, email=email):
        return None
    user = User(username=username, email=email, password_hash=password_hash,
                **{k: v for k, v in (profile or {}).items() if k in PROFILE_FIELDS})
    session.add(user)
    flush_unique(session)
    audit.record(session, actor, "register", user_id=user.id, resource_type="user",
                 resource_id=user.id, description=f"Registered {username}.")
    queue_email(session, jobs, template="welcome", user=user, event_key=f"welcome:{user.id}",
                context={"username": user.username, "dashboard_url": dashboard_url})
    send_token_mail(session, clock, jobs, user, VERIFY_EMAIL, dashboard_url)
    return user


def _registration_refused(session: Session, jobs: Jobs, actor: Actor, *, username: str,
                          email: str) -> bool:
    """Mail the address why nothing was created, if the address or username is taken."""
    owner = session.scalars(select(User).where(func.lower(User.email) == email)).first()
    taken = owner is None and session.scalars(
        select(User.id).where(func.lower(User.username) == username.lower())).first()
    if owner is None and taken is None:
        return False
    attempt = uuid.uuid4()
    if owner is not None:
        request = EmailRequest("registration_existing", owner.id, owner.email,
                               f"registration_existing:{attempt}", {"username": owner.username})
    else:
        request = EmailRequest("registration_refused", None, email,
                               f"registration_refused:{attempt}", {"username": username})
    queue_emails(session, jobs, [request])
    audit.record(session, actor, "register_refused", user_id=owner.id if owner else None,
                 resource_type="user", resource_id=owner.id if owner else "",
                 description="Registration refused: "
                             + ("e-mail address taken." if owner else "username taken."))
    return True


def login(
    session: Session, clock: Clock, signer: TokenSigner, actor: Actor, *, login: str,
    password: str, refresh_days: int,
) -> LoginResult:
    """Check the credentials; a failure is audited (the caller must keep that write)."""
    user = find_user_by_login(session, login)
    ok = check_password(password, user.password_hash if user else None)
    if user is None or not ok or not user.is_active:
        reason = "unknown account" if user is None else (
            "wrong password" if not ok else "inactive account")
        audit.record(session, actor, "login_failed", user_id=user.id if user else None,
                     resource_type="user", resource_id=user.id if user else "",
                     description=f"Login failed: {reason}.", meta={"login": login[:150]})
        raise AuthenticationError("The username/e-mail or the password is wrong.",
                                  code="invalid_credentials")
    user.last_login = clock.now()
    tokens = issue_tokens(session, clock, signer, user, refresh_days=refresh_days)
    audit.record(session, actor, "login", user_id=user.id, resource_type="user",
                 resource_id=user.id, description="Logged in.")
    return LoginResult(tokens=tokens, user=user)


def send_token_mail(session: Session, clock: Clock, jobs: Jobs, user: User, purpose: str,
                    dashboard_url: str) -> None:
    """Ask for the e-mail that carries a single-use link. The token is minted when the e-mail
    is sent (``mint_link``), so no live token is ever stored: the delivery keeps the link
    without it, and user_tokens only the token's hash."""
    lifetime = TOKEN_LIFETIMES[purpose]
    base = f"{dashboard_url.rstrip('/')}/{TOKEN_PATHS[purpose]}"
    queue_email(session, jobs, template=purpose, user=user,
                event_key=f"{purpose}:{uuid.uuid4()}",
                context={"username": user.username, "link_base": base,
                         "link": f"{base}?token=[redacted]",
                         "expires_hours": int(lifetime.total_seconds() // 3600)})


def mint_link(session: Session, clock: Clock, user: User, purpose: str, base: str) -> str:
    """A fresh single-use token for `purpose` (only its hash is stored) in a link to `base`."""
    token = secrets.token_urlsafe(32)
    session.add(UserToken(user_id=user.id, purpose=purpose, token_hash=token_hash(token),
                          expires_at=clock.now() + TOKEN_LIFETIMES[purpose]))
    session.flush()
    return f"{base}?token={token}"


def _spend_token(session: Session, clock: Clock, token: str, purpose: str) -> User:
    now = clock.now()
    user_id = session.scalar(
        update(UserToken)
        .where(UserToken.token_hash == token_hash(token), UserToken.purpose == purpose,
               UserToken.used_at.is_(None), UserToken.expires_at > now)
        .values(used_at=now)
        .returning(UserToken.user_id)
    )
    user = session.get(User, user_id) if user_id is not None else None
    if user is None or not user.is_active:
        raise ValidationError("The link is invalid, used or expired.", code="invalid_token",
                              errors={"token": [FieldProblem(
                                  "token_invalid", "Invalid, already used or expired.")]})
    return user


def verify_email(session: Session, clock: Clock, actor: Actor, *, token: str) -> User:
    user = _spend_token(session, clock, token, VERIFY_EMAIL)
    user.is_verified = True
    audit.record(session, actor, "email_verified", user_id=user.id, resource_type="user",
                 resource_id=user.id, description="E-mail address verified.")
    return user


def resend_verification(session: Session, clock: Clock, jobs: Jobs, *, email: str,
                        dashboard_url: str) -> None:
    """Mail a new link unless the account is unknown, verified, or was mailed a minute ago
    (the caller answers the same either way)."""
    user = find_user_by_login(session, email)
    if user is None or user.is_verified or not user.is_active:
        return
    recent = session.scalars(
        select(EmailDelivery.id).where(EmailDelivery.user_id == user.id,
                                       EmailDelivery.template == VERIFY_EMAIL,
                                       EmailDelivery.created_at > clock.now() - RESEND_PAUSE)
    ).first()
    if recent is None:
        send_token_mail(session, clock, jobs, user, VERIFY_EMAIL, dashboard_url)


def request_password_reset(session: Session, clock: Clock, jobs: Jobs, actor: Actor, *,
                           email: str, dashboard_url: str) -> None:
    """Mail a reset link to an active account; unknown addresses get the same answer."""
    user = find_user_by_login(session, email)
    if user is None or not user.is_active or "@" not in email:
        return
    send_token_mail(session, clock, jobs, user, PASSWORD_RESET, dashboard_url)
    audit.record(session, actor, "password_reset_requested", user_id=user.id,
                 resource_type="user", resource_id=user.id)


def confirm_password_reset(session: Session, clock: Clock, actor: Actor, *, token: str,
                           password: str) -> User:
    user = _spend_token(session, clock, token, PASSWORD_RESET)
    validate_password(password, username=user.username, email=user.email)
    user.password_hash = hash_password(password)
    revoked = revoke_user_tokens(session, clock, user.id)
    audit.record(session, actor, "password_reset", user_id=user.id, resource_type="user",
                 resource_id=user.id, description="Password reset with a mailed link.",
                 meta={"revoked_refresh_tokens": revoked})
    return user
