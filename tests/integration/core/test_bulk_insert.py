"""bulk.insert_rows stores the same rows on PostgreSQL (unnest arrays) as on SQLite (executemany):
defaults filled, attribute names mapped to columns, conflicts skipped, inserted ids returned."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.db import bulk
from services.core.db.models import AuditLog, EmailDelivery
from services.core.usecases import audit
from tests.support.factories import make_user

pytestmark = pytest.mark.integration


def _mail(user_id: uuid.UUID, key: str, context: dict[str, str]) -> dict[str, object]:
    return {"event_key": key, "template": "welcome", "user_id": user_id,
            "recipient": "a@example.tw", "context": context}


def test_rows_keep_their_values_and_get_their_columns_defaults(any_session: Session) -> None:
    user = make_user(any_session)
    rows = [
        audit.values(audit.SYSTEM, "renewal_order_created", resource_type="order",
                     resource_id="o-1", user_id=user.id, meta={"period_start": "2027-01-15"}),
        {"action": "user_note", "user_id": None, "meta": {"n": 2, "zh": "續訂"}},
    ]
    assert bulk.insert_rows(any_session, AuditLog, rows) == []
    any_session.commit()

    stored = {row.action: row for row in any_session.scalars(select(AuditLog))}
    first, second = stored["renewal_order_created"], stored["user_note"]
    assert (first.resource_type, first.resource_id, first.user_id) == ("order", "o-1", user.id)
    assert first.meta == {"period_start": "2027-01-15"}  # the attribute "meta", column "metadata"
    assert first.user_agent == "fluxus-system"
    # Left out: the model's defaults, as an ORM insert would store them.
    assert (second.resource_type, second.resource_id, second.user_agent) == ("", "", "")
    assert second.meta == {"n": 2, "zh": "續訂"}
    assert first.id != second.id and first.created_at is not None


def test_a_conflicting_row_is_skipped_and_only_inserted_ids_come_back(any_session: Session) -> None:
    user = make_user(any_session)
    first = bulk.insert_rows(any_session, EmailDelivery, [_mail(user.id, "welcome:1", {"a": "1"})],
                             conflict=("event_key",), returning="id")
    again = bulk.insert_rows(
        any_session, EmailDelivery,
        [_mail(user.id, "welcome:1", {"a": "changed"}), _mail(user.id, "welcome:2", {})],
        conflict=("event_key",), returning="id")
    any_session.commit()

    assert len(first) == 1 and len(again) == 1 and isinstance(again[0], uuid.UUID)
    stored = {row.event_key: row for row in any_session.scalars(select(EmailDelivery))}
    assert stored["welcome:1"].id == first[0]
    assert stored["welcome:1"].context == {"a": "1"}  # the first row stays as it was
    assert stored["welcome:2"].id == again[0]
    assert (stored["welcome:2"].status, stored["welcome:2"].attempts) == ("pending", 0)


def test_a_key_the_model_does_not_have_is_refused(any_session: Session) -> None:
    with pytest.raises(ValueError, match="no column"):
        bulk.insert_rows(any_session, AuditLog, [{"action": "x", "metadata": {}}])
