"""Plans from Plan resources: upsert the row by slug (idempotent), archive on delete."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Insert, false, or_, select, update
from sqlalchemy.orm import Session

from services.core.clock import Clock
from services.core.db.models import Plan
from services.core.db.upsert import insert_for
from services.core.domain.plan_spec import PlanSpec, parse_plan_spec
from services.core.usecases import audit

# Columns a Plan resource owns; an edit to any of them in the database is drift to put back.
SYNCED_COLUMNS = (
    "name",
    "description",
    "price",
    "currency",
    "billing_cycle",
    "features",
    "translations",
    "max_users",
    "max_storage_gb",
    "is_active",
    "is_popular",
    "sort_order",
    "trial_days",
    "grace_days",
    "renewal_schedule",
    "source_generation",
)


@dataclass(frozen=True)
class PlanSync:
    """What one reconcile did: the row's id and whether it was created or changed."""

    plan_id: uuid.UUID
    slug: str
    spec: PlanSpec
    created: bool
    changed: bool

    @property
    def outcome(self) -> str:
        if self.created:
            return "created"
        return "updated" if self.changed else "unchanged"


def plan_columns(spec: PlanSpec, generation: int | None) -> dict[str, Any]:
    """The plans row a spec describes (without id and timestamps)."""
    return {
        "name": spec.display_name,
        "description": spec.description,
        "price": spec.price,
        "currency": spec.currency,
        "billing_cycle": spec.billing_cycle.value,
        "features": list(spec.features),
        "translations": spec.translations,
        "max_users": spec.max_users,
        "max_storage_gb": spec.max_storage_gb,
        "is_active": spec.active,
        "is_popular": spec.popular,
        "sort_order": spec.sort_order,
        "trial_days": spec.trial_days,
        "grace_days": spec.grace_days,
        "renewal_schedule": spec.schedule,
        "source_generation": generation,
    }


def _upsert_statement(session: Session, slug: str, values: dict[str, Any], now: Any) -> Insert:
    stmt = insert_for(session)(Plan).values(
        id=uuid.uuid4(), slug=slug, created_at=now, updated_at=now, **values
    )
    table = Plan.__table__
    differs = or_(*(table.c[name].is_distinct_from(stmt.excluded[name]) for name in values))
    # The WHERE keeps an unchanged row untouched (no new updated_at, nothing returned).
    return stmt.on_conflict_do_update(
        index_elements=["slug"],
        set_={**{name: stmt.excluded[name] for name in values}, "updated_at": now},
        where=differs,
    ).returning(Plan.id)


def reconcile_plan(
    session: Session, clock: Clock, slug: str, spec: dict[str, Any], generation: int | None
) -> PlanSync:
    """Make the plans row for ``slug`` match a Plan spec; running it again changes nothing.

    Raises ValidationError (with field errors) when the spec breaks a domain rule.
    """
    parsed = parse_plan_spec(slug, spec)
    values = plan_columns(parsed, generation)
    existed = session.scalar(select(Plan.id).where(Plan.slug == slug)) is not None
    written = session.execute(_upsert_statement(session, slug, values, clock.now())).scalar()
    changed = written is not None
    plan_id = (
        written if written is not None else session.scalar(select(Plan.id).where(Plan.slug == slug))
    )
    assert plan_id is not None  # noqa: S101 - the upsert just wrote or found it
    result = PlanSync(plan_id, slug, parsed, created=changed and not existed, changed=changed)
    if changed:
        audit.record(
            session,
            audit.SYSTEM,
            f"plan.{result.outcome}",
            resource_type="plan",
            resource_id=plan_id,
            description=f"Plan {slug} {result.outcome} from its resource",
            meta={"generation": generation},
        )
    return result


def archive_plan(session: Session, slug: str) -> bool:
    """Mark a plan inactive (never delete it: subscriptions keep pointing at it).

    Returns whether a row changed; an unknown or already inactive plan is a no-op.
    """
    plan_id = session.execute(
        update(Plan)
        .where(Plan.slug == slug, Plan.is_active.is_not(false()))
        .values(is_active=False, is_popular=False)
        .returning(Plan.id)
    ).scalar()
    if plan_id is None:
        return False
    audit.record(
        session,
        audit.SYSTEM,
        "plan.archived",
        resource_type="plan",
        resource_id=plan_id,
        description=f"Plan {slug} archived: its resource was deleted",
    )
    return True
