"""User administration and self-service: list, create, read, update, deactivate, password."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import User
from services.core.errors import (
    Conflict,
    FieldProblem,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from services.core.ports import Jobs
from services.core.usecases import audit
from services.core.usecases.api_pages import Page, paginate
from services.core.usecases.audit import Actor
from services.core.usecases.auth import (
    PROFILE_FIELDS,
    VERIFY_EMAIL,
    ensure_unique,
    flush_unique,
    send_token_mail,
)
from services.core.usecases.auth_passwords import check_password, hash_password, validate_password
from services.core.usecases.auth_tokens import (
    TokenPair,
    TokenSigner,
    issue_tokens,
    revoke_user_tokens,
)
from services.core.usecases.einvoices import preferences
from services.core.usecases.emails import EmailRequest, queue_emails

# Flags only staff may set, and never on their own account.
PRIVILEGED_FIELDS = ("is_staff", "is_superuser", "is_verified", "is_active")
EDITABLE_FIELDS = ("username", "email", *PROFILE_FIELDS)


def list_users(session: Session, *, page: int, page_size: int, is_active: bool | None = None,
               search: str | None = None) -> Page[User]:
    query = select(User).order_by(User.created_at, User.id)
    if is_active is not None:
        query = query.where(User.is_active.is_(is_active))
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(User.username.ilike(pattern) | User.email.ilike(pattern))
    return paginate(session, query, page=page, page_size=page_size)


def get_user(session: Session, caller: User, user_id: uuid.UUID) -> User:
    """Yourself, or anyone for staff; anything else looks like it does not exist."""
    if caller.id != user_id and not caller.is_staff:
        raise NotFound("User not found.")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("User not found.")
    return user


def create_user(session: Session, actor: Actor, caller: User, fields: dict[str, Any]) -> User:
    """Staff create an account (optionally staff or pre-verified) with a password."""
    _check_privileged(caller, None, fields)
    password = fields.pop("password")
    email = fields["email"].strip().lower()
    validate_password(password, username=fields["username"], email=email)
    ensure_unique(session, username=fields["username"], email=email)
    user = User(**{**fields, "email": email}, password_hash=hash_password(password))
    session.add(user)
    flush_unique(session)
    audit.record(session, actor, "user_create", resource_type="user", resource_id=user.id,
                 description=f"Created user {user.username}.",
                 meta={k: v for k, v in fields.items() if k in PRIVILEGED_FIELDS})
    return user


def _check_privileged(caller: User, target: User | None, fields: dict[str, Any]) -> None:
    """Refuse flag changes (echoing a flag's current value back is fine)."""
    changed = [name for name in PRIVILEGED_FIELDS
               if name in fields and (target is None or fields[name] != getattr(target, name))]
    if not changed:
        return
    if not caller.is_staff:
        raise PermissionDenied("Only staff may change these fields.",
                               errors={name: [FieldProblem("staff_only", "Staff only.")]
                                       for name in changed})
    if target is not None and target.id == caller.id:
        raise PermissionDenied("Nobody may change these flags on their own account.",
                               errors={name: [FieldProblem("not_on_own_account",
                                                           "Not on your own account.")]
                                       for name in changed})
    if "is_superuser" in changed and not caller.is_superuser:
        raise PermissionDenied("Only superusers may grant or remove superuser.",
                               errors={"is_superuser": [FieldProblem("superuser_only",
                                                                     "Superusers only.")]})


@dataclass(frozen=True)
class EmailChangeMail:
    """What an e-mail change needs to mail the old and the new address."""

    clock: Clock
    jobs: Jobs
    dashboard_url: str


def _check_email_change(caller: User, password: str | None,
                        mail: EmailChangeMail | None) -> None:
    # A stolen access token alone must not move the account to another mailbox (and from
    # there through a password reset to the thief for good): the caller's password is needed.
    if mail is None:
        raise ValueError("an e-mail change needs EmailChangeMail to notify both addresses")
    if not password or not check_password(password, caller.password_hash):
        raise ValidationError(
            "Changing the e-mail address needs your current password.",
            errors={"current_password": [FieldProblem("password_wrong",
                                                      "Wrong or missing password.")]})


def _mail_email_change(session: Session, mail: EmailChangeMail, user: User,
                       old_email: str) -> None:
    """A notice to the old address (so the owner learns of a change they did not make) and a
    verification link to the new one."""
    queue_emails(session, mail.jobs, [EmailRequest(
        "email_changed", user.id, old_email, f"email_changed:{user.id}:{uuid.uuid4()}",
        {"new_email": user.email, "old_email": old_email})])
    send_token_mail(session, mail.clock, mail.jobs, user, VERIFY_EMAIL, mail.dashboard_url)


def update_user(session: Session, actor: Actor, caller: User, user_id: uuid.UUID,
                fields: dict[str, Any], *, email_change: EmailChangeMail | None = None) -> User:
    """PUT/PATCH: the caller (self or staff) changes profile fields; staff change flags."""
    user = get_user(session, caller, user_id)
    _check_privileged(caller, user, fields)
    password = fields.pop("current_password", None)
    preferences.apply_to_user(user, fields)  # the e-invoice details, checked as one
    if "email" in fields:
        fields["email"] = fields["email"].strip().lower()
        if fields["email"] != user.email:
            _check_email_change(caller, password, email_change)
    ensure_unique(session, username=fields.get("username"), email=fields.get("email"),
                  exclude=user.id)
    changed = {name: value for name, value in fields.items() if getattr(user, name) != value}
    if "email" in changed and "is_verified" not in fields:
        changed["is_verified"] = False  # a new address must be verified again
    old_email = user.email
    for name, value in changed.items():
        setattr(user, name, value)
    flush_unique(session)
    if "email" in changed and email_change is not None:
        _mail_email_change(session, email_change, user, old_email)
    audit.record(session, actor, "user_update", resource_type="user", resource_id=user.id,
                 description=f"Updated user {user.username}.",
                 meta={"fields": sorted(changed)})
    return user


def deactivate_user(session: Session, clock: Clock, actor: Actor, caller: User,
                    user_id: uuid.UUID) -> User:
    """Staff soft-delete: the account stays (orders and invoices keep it) but cannot log in."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("User not found.")
    if user.id == caller.id:
        raise Conflict("You cannot deactivate your own account.", code="self_deactivation")
    user.is_active = False
    revoke_user_tokens(session, clock, user.id)
    audit.record(session, actor, "user_delete", resource_type="user", resource_id=user.id,
                 description=f"Deactivated user {user.username}.")
    return user


def change_password(
    session: Session, clock: Clock, signer: TokenSigner, actor: Actor, user: User, *,
    old_password: str, new_password: str, refresh_days: int,
) -> TokenPair:
    """Change one's own password; every existing login is revoked and a fresh pair issued."""
    if not check_password(old_password, user.password_hash):
        raise ValidationError("The current password is wrong.",
                              errors={"old_password": [FieldProblem("password_wrong",
                                                                   "Wrong password.")]})
    validate_password(new_password, username=user.username, email=user.email,
                      field="new_password")
    if check_password(new_password, user.password_hash):
        raise ValidationError("Choose a password different from the current one.",
                              errors={"new_password": [FieldProblem(
                                  "password_unchanged", "Same as the current password.")]})
    user.password_hash = hash_password(new_password)
    revoked = revoke_user_tokens(session, clock, user.id)
    audit.record(session, actor, "password_change", resource_type="user", resource_id=user.id,
                 description="Password changed; other sessions revoked.",
                 meta={"revoked_refresh_tokens": revoked})
    return issue_tokens(session, clock, signer, user, refresh_days=refresh_days)
