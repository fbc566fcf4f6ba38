"""E-mail words: every template in both languages, user values escaped in HTML."""

from __future__ import annotations

import pytest

from services.core.usecases import email_templates, emails
from services.core.usecases.email_templates import REQUIRED, TEMPLATES, language_of, render

pytestmark = pytest.mark.unit
COMMON = {
    "name": "王小明",
    "email": "a@example.tw",
    "seller_name": "Fluxus",
    "dashboard_url": "https://app.example.tw",
}


def test_every_template_queue_email_accepts_has_both_languages() -> None:
    assert set(TEMPLATES) == set(emails.TEMPLATES) == set(REQUIRED)
    assert all(set(words) == set(email_templates.LANGUAGES) for words in TEMPLATES.values())


@pytest.mark.parametrize("template", sorted(TEMPLATES))
@pytest.mark.parametrize("language", ["zh-TW", "en"])
def test_user_values_are_escaped_in_html_and_plain_in_text(template: str, language: str) -> None:
    hostile = '<img src=x onerror="alert(1)">'
    values = {**COMMON, **{key: hostile for key in REQUIRED[template]}, "name": hostile}

    mail = render(template, language, values)

    assert hostile not in mail.html and "&lt;img src=x" in mail.html
    assert hostile in mail.text
    assert "\n" not in mail.subject


def test_missing_required_value_is_refused() -> None:
    with pytest.raises(ValueError, match="pay_url"):
        render(
            "renewal_payment_link",
            "en",
            {
                **COMMON,
                "plan_name": "Pro",
                "amount": "NT$1",
                "period_start": "a",
                "period_end": "b",
            },
        )


def test_language_preference() -> None:
    assert [language_of(p) for p in ("en", "en-US", "zh-TW", "", None, "ja")] == [
        "en",
        "en",
        "zh-TW",
        "zh-TW",
        "zh-TW",
        "zh-TW",
    ]


def test_payment_instructions_show_only_the_codes_given() -> None:
    mail = render(
        "payment_instructions",
        "en",
        {
            **COMMON,
            "order_number": "FX1",
            "plan_name": "Pro",
            "amount": "NT$990",
            "bank_code": "812",
            "v_account": "9103522175887271",
            "expire_date": "2027/01/18",
        },
    )
    assert "Bank code: 812, account: 9103522175887271" in mail.text
    assert "Pay by: 2027/01/18" in mail.text
    assert "Barcodes" not in mail.text and "Convenience-store" not in mail.text
