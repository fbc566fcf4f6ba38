"""Every authenticated request reads its caller and whether its access token is revoked (by
logout, or with its login family) in one statement, built once per process: each call
answers for its own user, token and family, on PostgreSQL and on SQLite."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from services.core.db.models import RefreshToken, RevokedAccessToken
from services.core.usecases.auth_tokens import caller_and_revocation
from tests.support.factories import make_user

pytestmark = pytest.mark.integration
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=7)


def _family(session: Session, user_id: uuid.UUID, family: str, *, revoked: bool) -> None:
    session.add(RefreshToken(jti=f"r-{family}", family_id=family, user_id=user_id,
                             expires_at=LATER, revoked_at=NOW if revoked else None))


def test_each_call_answers_for_its_own_token_family_and_user(any_session: Session) -> None:
    alice, bob = make_user(any_session), make_user(any_session)
    _family(any_session, alice.id, "alice-live", revoked=False)
    _family(any_session, alice.id, "alice-dead", revoked=True)
    _family(any_session, bob.id, "bob-live", revoked=False)
    any_session.add(RevokedAccessToken(jti="alice-logged-out", expires_at=LATER))
    any_session.commit()

    # Alternating callers and shapes (with and without a family): nothing carries over.
    answers = [
        caller_and_revocation(any_session, alice.id, "a1", "alice-live"),
        caller_and_revocation(any_session, alice.id, "a2", "alice-dead"),
        caller_and_revocation(any_session, bob.id, "b1", "bob-live"),
        caller_and_revocation(any_session, alice.id, "alice-logged-out", "alice-live"),
        caller_and_revocation(any_session, bob.id, "b2", None),
        caller_and_revocation(any_session, alice.id, "alice-logged-out", None),
        caller_and_revocation(any_session, bob.id, "b3", "alice-dead"),
        caller_and_revocation(any_session, bob.id, "b4", "bob-live"),
    ]
    assert answers == [(alice, False), (alice, True), (bob, False), (alice, True),
                       (bob, False), (alice, True), (bob, True), (bob, False)]


def test_a_family_revoked_after_a_token_was_read_is_refused_at_the_next_read(
    any_session: Session,
) -> None:
    user = make_user(any_session)
    _family(any_session, user.id, "fam", revoked=False)
    any_session.commit()
    assert caller_and_revocation(any_session, user.id, "jti", "fam") == (user, False)

    row = any_session.get(RefreshToken, "r-fam")
    assert row is not None
    row.revoked_at = NOW
    any_session.commit()
    assert caller_and_revocation(any_session, user.id, "jti", "fam") == (user, True)

    any_session.add(RevokedAccessToken(jti="other", expires_at=LATER))
    any_session.commit()
    assert caller_and_revocation(any_session, user.id, "other", None) == (user, True)


def test_no_such_user_is_no_caller(any_session: Session) -> None:
    user = make_user(any_session)
    any_session.add(RevokedAccessToken(jti="revoked", expires_at=LATER))
    any_session.commit()
    assert caller_and_revocation(any_session, uuid.uuid4(), "revoked", None) == (None, False)
    assert caller_and_revocation(any_session, uuid.uuid4(), "jti", "fam") == (None, False)
    assert caller_and_revocation(any_session, user.id, "jti", None) == (user, False)


def test_an_inactive_user_is_still_returned_for_the_edge_to_refuse(any_session: Session) -> None:
    """Refusing inactive accounts is the web edge's job (services.web.auth); this read must
    hand it the row as it is now."""
    user = make_user(any_session)
    any_session.commit()
    assert caller_and_revocation(any_session, user.id, "jti", None)[0] is user
    user.is_active = False
    any_session.commit()
    caller, revoked = caller_and_revocation(any_session, user.id, "jti", None)
    assert caller is user and caller.is_active is False and revoked is False
