"""Which customers a periodic selection may touch: production's or one test clock's.

Every periodic handler that selects subscriptions (renewals, dunning, trial ends, expiry,
reconciliation, the e-invoice sweep) takes a `test_clock_id`: None is production, which
never touches a customer on a clock; an id is that clock's advance, which touches only its
own customers.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, exists, select

from services.core.db.models import User


def customers(user_id: Any, test_clock_id: uuid.UUID | None) -> ColumnElement[bool]:
    """A WHERE clause on a user id column: production's customers, or one clock's."""
    if test_clock_id is None:
        # NOT EXISTS probes the users.test_clock_id index; NULL-safe, unlike NOT IN.
        return ~exists().where(User.id == user_id, User.test_clock_id.is_not(None))
    return user_id.in_(select(User.id).where(User.test_clock_id == test_clock_id))
