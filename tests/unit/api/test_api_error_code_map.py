"""marshmallow's built-in field messages map to stable codes, whatever the numbers in them."""

from __future__ import annotations

import pytest
from marshmallow import Schema, ValidationError, fields, validate

from services.core.errors import FieldProblem
from services.web.error_codes import error_codes

pytestmark = pytest.mark.unit


class _Sample(Schema):
    short = fields.String(validate=validate.Length(min=8))
    long = fields.String(validate=validate.Length(max=3))
    count = fields.Integer(validate=validate.Range(min=1))
    ratio = fields.Float()
    kind = fields.String(validate=validate.OneOf(["cloud", "donation"]))
    email = fields.Email()
    needed = fields.String(required=True)


def test_each_validator_kind_has_its_code() -> None:
    with pytest.raises(ValidationError) as caught:
        _Sample().load({"short": "abc", "long": "abcdef", "count": 0, "ratio": "many",
                        "kind": "paper", "email": "nope", "extra": 1})
    assert error_codes(caught.value.messages) == {
        "short": ["too_short"], "long": ["too_long"], "count": ["too_small"],
        "ratio": ["not_a_number"], "kind": ["invalid_choice"], "email": ["email_invalid"],
        "needed": ["required"], "extra": ["unknown_field"]}


def test_own_problems_keep_their_code_and_unknown_text_is_invalid() -> None:
    problems = {"password": [FieldProblem("password_too_common", "This password is too common."),
                             "Something new."],
                "items": {"0": {"plan_id": ["Not a valid UUID."]}}}
    assert error_codes(problems) == {"password": ["password_too_common", "invalid"],
                                     "items": {"0": {"plan_id": ["uuid_invalid"]}}}
