"""The dashboard shows each API field error by its code in the user's language."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fluxus_ui.errors import ApiError
from fluxus_ui.i18n import translate

from services.web.error_codes import BUILTIN_CODES, UNKNOWN

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]


def _own_codes() -> set[str]:
    """The codes Fluxus raises itself: every FieldProblem("code", …) under services/."""
    codes: set[str] = set()
    for path in (ROOT / "services").rglob("*.py"):
        codes |= set(re.findall(r'FieldProblem\(\s*"(\w+)"', path.read_text(encoding="utf-8")))
    # auth.py names the field in the code: FieldProblem(f"{field}_taken", …)
    return codes | {"username_taken", "email_taken"}


def _t(lang: str) -> Any:
    return lambda key, **values: translate(key, lang, **values)


def test_every_code_the_api_sends_reads_in_both_languages() -> None:
    codes = (BUILTIN_CODES | _own_codes()) - {UNKNOWN}
    assert {"password_too_common", "password_wrong", "email_invalid", "required"} <= codes
    for code in sorted(codes):
        key = f"field_error.{code}"
        english, chinese = translate(key, "en"), translate(key, "zh-TW")
        assert english != key and chinese != key, code
        assert chinese != english, code


def _refused(errors: dict[str, Any], codes: dict[str, Any] | None) -> ApiError:
    body: dict[str, Any] = {"code": "validation_error", "status": 422,
                            "message": "The input is not valid.", "errors": errors}
    if codes is not None:
        body["error_codes"] = codes
    return ApiError.from_response(422, body)


def test_field_errors_show_in_the_users_language_with_their_numbers() -> None:
    error = _refused(
        {"password": ["Use at least 8 characters.", "This password is too common."],
         "email": ["Not a valid email address."]},
        {"password": ["password_too_short", "password_too_common"], "email": ["email_invalid"]})
    assert error.field_errors(_t("zh-TW")) == {
        "password": "密碼至少需要 8 個字元。 這個密碼太常見了。", "email": "電子郵件格式不正確。"}
    assert error.field_errors(_t("en"))["password"] == (
        "Use at least 8 characters. This password is too common.")
    # the English text the API sent stays available
    assert error.errors["email"] == "Not a valid email address."


def test_an_unknown_code_falls_back_to_the_apis_message() -> None:
    error = _refused({"tax_id": ["Eight digits (統一編號) or empty."],
                      "phone": ["Something new."],
                      "username": ["Length must be between 3 and 150."]},
                     {"tax_id": [UNKNOWN], "phone": ["a_code_from_a_newer_api"],
                      "username": ["length_out_of_range"]})
    shown = error.field_errors(_t("zh-TW"))
    assert shown["tax_id"] == "Eight digits (統一編號) or empty."
    assert shown["phone"] == "Something new."
    assert shown["username"] == "長度須為 3 到 150 個字元。"


def test_an_api_without_error_codes_shows_its_messages() -> None:
    error = _refused({"old_password": ["Wrong password."]}, None)
    assert error.field_errors(_t("zh-TW")) == {"old_password": "Wrong password."}
