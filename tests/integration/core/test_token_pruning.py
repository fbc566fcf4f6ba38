"""Expired token rows are pruned, and nothing revoked becomes usable again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.db.models import RefreshToken, RevokedAccessToken, UserToken
from services.core.usecases.auth_tokens import caller_and_revocation, prune_expired_tokens
from tests.support.factories import make_user

pytestmark = pytest.mark.integration
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def test_expired_rows_go_and_a_revoked_login_stays_revoked(session: Session) -> None:
    user = make_user(session)
    long_ago, yesterday_ish, later = (
        NOW - timedelta(days=30),
        NOW - timedelta(hours=20),
        NOW + timedelta(minutes=10),
    )
    session.add_all(
        [
            RevokedAccessToken(jti="gone", expires_at=long_ago),
            RevokedAccessToken(jti="kept-margin", expires_at=yesterday_ish),
            RevokedAccessToken(jti="kept-live", expires_at=later),
            # A login family revoked after reuse: old rotated rows expired, the newest not.
            RefreshToken(jti="r-old", family_id="fam", user_id=user.id, expires_at=long_ago,
                         used_at=long_ago, revoked_at=NOW),
            RefreshToken(jti="r-new", family_id="fam", user_id=user.id,
                         expires_at=NOW + timedelta(days=13), revoked_at=NOW),
            UserToken(user_id=user.id, purpose="password_reset", token_hash="a" * 64,
                      expires_at=long_ago),
            UserToken(user_id=user.id, purpose="verify_email", token_hash="b" * 64,
                      expires_at=later),
        ]
    )
    session.commit()

    pruned = prune_expired_tokens(session, FixedClock(NOW))
    session.commit()
    again = prune_expired_tokens(session, FixedClock(NOW))

    assert pruned == {"revoked_access_tokens": 1, "refresh_tokens": 1, "user_tokens": 1}
    assert again == {"revoked_access_tokens": 0, "refresh_tokens": 0, "user_tokens": 0}
    assert set(session.scalars(select(RevokedAccessToken.jti))) == {"kept-margin", "kept-live"}
    assert set(session.scalars(select(RefreshToken.jti))) == {"r-new"}
    assert set(session.scalars(select(UserToken.token_hash))) == {"b" * 64}
    # An access token of the revoked family, or one revoked by logout, is still refused.
    assert caller_and_revocation(session, user.id, "any-access-jti", "fam") == (user, True)
    assert caller_and_revocation(session, user.id, "kept-live", None) == (user, True)
    assert caller_and_revocation(session, user.id, "never-revoked", None) == (user, False)
