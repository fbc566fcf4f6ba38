"""User administration and self-service: list, create, read, update, deactivate, password."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import User
from services.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from services.core.usecases import audit
from services.core.usecases.api_pages import Page, paginate
from services.core.usecases.audit import Actor
from services.core.usecases.auth import PROFILE_FIELDS, ensure_unique, flush_unique
from services.core.usecases.auth_passwords import check_password, hash_password, validate_password
from services.core.usecases.auth_tokens import (
    TokenPair,
    TokenSigner,
    issue_tokens,
    revoke_user_tokens,
)
from services.core.usecases.einvoices import preferences

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
                               errors={name: ["Staff only."] for name in changed})
    if target is not None and target.id == caller.id:
        raise PermissionDenied("Nobody may change these flags on their own account.",
                               errors={name: ["Not on your own account."] for name in changed})
    if "is_superuser" in changed and not caller.is_superuser:
        raise PermissionDenied("Only superusers may grant or remove superuser.",
                               errors={"is_superuser": ["Superusers only."]})


def update_user(session: Session, actor: Actor, caller: User, user_id: uuid.UUID,
                fields: dict[str, Any]) -> User:
    """PUT/PATCH: the caller (self or staff) changes profile fields; staff change flags."""
    user = get_user(session, caller, user_id)
    _check_privileged(caller, user, fields)
    preferences.apply_to_user(user, fields)  # the e-invoice details, checked as one
    if "email" in fields:
        fields["email"] = fields["email"].strip().lower()
    ensure_unique(session, username=fields.get("username"), email=fields.get("email"),
                  exclude=user.id)
    changed = {name: value for name, value in fields.items() if getattr(user, name) != value}
    if "email" in changed and "is_verified" not in fields:
        changed["is_verified"] = False  # a new address must be verified again
    for name, value in changed.items():
        setattr(user, name, value)
    flush_unique(session)
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
                              errors={"old_password": ["Wrong password."]})
    validate_password(new_password, username=user.username, email=user.email,
                      field="new_password")
    if check_password(new_password, user.password_hash):
        raise ValidationError("Choose a password different from the current one.",
                              errors={"new_password": ["Same as the current password."]})
    user.password_hash = hash_password(new_password)
    revoked = revoke_user_tokens(session, clock, user.id)
    audit.record(session, actor, "password_change", resource_type="user", resource_id=user.id,
                 description="Password changed; other sessions revoked.",
                 meta={"revoked_refresh_tokens": revoked})
    return issue_tokens(session, clock, signer, user, refresh_days=refresh_days)
