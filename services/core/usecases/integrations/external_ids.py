"""A customer's external id: the SaaS's own id for them, set by staff or an API key with
billing:write, and the lookups by it."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.core.db.models import User
from services.core.errors import Conflict, NotFound, PermissionDenied
from services.core.usecases import audit
from services.core.usecases.api_pages import Page, paginate
from services.core.usecases.audit import Actor


def list_customers(session: Session, *, page: int, page_size: int,
                   external_id: str | None = None) -> Page[User]:
    """Customers (not staff accounts), oldest first; `external_id` narrows to at most one."""
    query = select(User).where(User.is_staff.is_(False)).order_by(User.created_at, User.id)
    if external_id is not None:
        query = query.where(User.external_id == external_id)
    return paginate(session, query, page=page, page_size=page_size)


def by_external_id(session: Session, external_id: str) -> User:
    user = session.scalars(select(User).where(User.external_id == external_id)).first()
    if user is None:
        raise NotFound("No customer has this external id.")
    return user


def set_external_id(session: Session, actor: Actor, caller: User, user_id: uuid.UUID,
                    external_id: str | None) -> User:
    """Link (or with None unlink) a customer to the SaaS's id; 409 if another has it."""
    user = session.get(User, user_id, with_for_update=True)
    if user is None or (not caller.is_staff and caller.id != user_id):
        raise NotFound("User not found.")
    if user.external_id == external_id:
        return user
    if not caller.is_staff:
        raise PermissionDenied("Only staff or an API key with billing:write set external_id.",
                               errors={"external_id": ["Staff or billing:write only."]})
    if external_id is not None and session.scalar(
            select(User.id).where(User.external_id == external_id, User.id != user_id)):
        raise _taken()
    old, user.external_id = user.external_id, external_id
    try:
        with session.begin_nested():  # two linking at once: the unique index decides
            session.flush()
    except IntegrityError as exc:
        raise _taken() from exc
    audit.record(session, actor, "user.external_id_set", resource_type="user",
                 resource_id=user.id, meta={"old": old, "new": external_id})
    return user


def _taken() -> Conflict:
    return Conflict("Another customer already has this external id.",
                    code="external_id_taken", errors={"external_id": ["Already in use."]})
