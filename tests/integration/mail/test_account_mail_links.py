"""The account e-mails the API asks for render with the link the customer must click."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import EmailDelivery
from services.core.ports import RecordingJobs
from services.core.usecases.auth import send_token_mail
from services.core.usecases.email_delivery import link_values, template_values
from services.core.usecases.email_templates import render
from tests.support.factories import NOW, make_user

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(("purpose", "path"), [("verify_email", "verify-email"),
                                                ("password_reset", "reset-password")])
@pytest.mark.parametrize("language", ["en", "zh-TW"])
def test_the_mailed_link_reaches_the_message(
    session: Session, settings: Settings, purpose: str, path: str, language: str
) -> None:
    user = make_user(session, language=language)
    send_token_mail(session, FixedClock(NOW), RecordingJobs(), user, purpose,
                    settings.dashboard_url)
    delivery = session.scalars(select(EmailDelivery)).one()

    # The stored delivery holds no live token; the link is minted when the e-mail is sent.
    assert "?token=[redacted]" in delivery.context["link"]
    values = template_values(session, delivery, user, settings)
    values |= link_values(session, FixedClock(NOW), delivery, user)
    rendered = render(delivery.template, language, values)
    link = f"{settings.dashboard_url}/{path}?token="
    assert link in rendered.text and "[redacted]" not in rendered.text
    assert link in rendered.html
