"""Stable machine codes for field errors: the ``error_codes`` beside ``errors`` in the envelope.

Fluxus's own field errors carry their code (``FieldProblem``). marshmallow's ValidationError keeps
only the English text, so its built-in messages are recognised here by their default templates,
read from marshmallow itself: a new marshmallow wording changes the pattern, not the code.
This lives in ``services.web`` (not the API) because the payment service renders the same envelope.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import fields, validate
from marshmallow.schema import Schema

# Any message nothing here recognises (clients then show the text in ``errors``).
UNKNOWN = "invalid"

_RANGE = validate.Range
_LOW_OPS = (_RANGE.message_gte, _RANGE.message_gt)
_HIGH_OPS = (_RANGE.message_lte, _RANGE.message_lt)


def _range_templates(key: str) -> list[str]:
    template = getattr(_RANGE, key)
    return list(dict.fromkeys(template.format(min_op=low, max_op=high)
                              for low in _LOW_OPS for high in _HIGH_OPS))


def _message(field: type[fields.Field], key: str) -> str:
    return str(field.default_error_messages[key])


# (template, code), most specific first: "Not a valid email address." before a bare "Not a
# valid {obj_type}.", and a range's two bounds before either one.
_TEMPLATES: list[tuple[str, str]] = [
    (_message(fields.Field, "required"), "required"),
    (_message(fields.Field, "null"), "null"),
    (_message(fields.Field, "validator_failed"), UNKNOWN),
    (_message(fields.Email, "invalid"), "email_invalid"),
    (_message(fields.URL, "invalid"), "url_invalid"),
    (_message(fields.UUID, "invalid_uuid"), "uuid_invalid"),
    (_message(fields.Integer, "invalid"), "not_an_integer"),
    (_message(fields.Number, "invalid"), "not_a_number"),
    (_message(fields.Number, "too_large"), "too_large"),
    (_message(fields.Float, "special"), "not_a_number"),
    (_message(fields.Boolean, "invalid"), "not_a_boolean"),
    (_message(fields.String, "invalid"), "not_a_string"),
    (_message(fields.String, "invalid_utf8"), "not_a_string"),
    (_message(fields.Date, "invalid"), "date_invalid"),
    (_message(fields.Date, "format"), "date_invalid"),
    (_message(fields.DateTime, "invalid_awareness"), "datetime_invalid"),
    (_message(fields.DateTime, "invalid"), "datetime_invalid"),
    (_message(fields.DateTime, "format"), "datetime_invalid"),
    (_message(fields.List, "invalid"), "not_a_list"),
    (_message(fields.Dict, "invalid"), "not_an_object"),
    (_message(fields.Nested, "type"), "not_an_object"),
    (_message(fields.Enum, "unknown"), "invalid_choice"),
    (validate.OneOf.default_message, "invalid_choice"),
    (validate.ContainsOnly.default_message, "invalid_choice"),
    (validate.Email.default_message, "email_invalid"),
    (validate.URL.default_message, "url_invalid"),
    (validate.Length.message_all, "length_out_of_range"),
    (validate.Length.message_equal, "length_invalid"),
    (validate.Length.message_min, "too_short"),
    (validate.Length.message_max, "too_long"),
    *[(template, "out_of_range") for template in _range_templates("message_all")],
    *[(template, "too_small") for template in _range_templates("message_min")],
    *[(template, "too_large") for template in _range_templates("message_max")],
    (validate.Regexp.default_message, "pattern_mismatch"),
    (str(Schema._default_error_messages["unknown"]), "unknown_field"),
    (str(Schema._default_error_messages["type"]), "not_an_object"),
]


def _pattern(template: str) -> re.Pattern[str]:
    """'Shorter than minimum length {min}.' → ^Shorter\\ than\\ minimum\\ length\\ .+\\.$"""
    parts = re.split(r"\{[^{}]*\}", template.replace("{{", "{").replace("}}", "}"))
    return re.compile("^" + ".+".join(re.escape(part) for part in parts) + "$", re.DOTALL)


_PATTERNS = [(_pattern(template), code) for template, code in _TEMPLATES]
# Every code a marshmallow message can get (clients that translate codes check theirs).
BUILTIN_CODES = frozenset(code for _, code in _TEMPLATES)


def code_of(message: Any) -> str:
    """The code of one field error message."""
    code = getattr(message, "code", None)
    if isinstance(code, str) and code:
        return code
    text = str(message)
    for pattern, known in _PATTERNS:
        if pattern.match(text):
            return known
    return UNKNOWN


def error_codes(errors: Any) -> Any:
    """``errors`` with every message replaced by its code, in the same shape
    ({"password": ["Shorter than minimum length 8."]} → {"password": ["too_short"]})."""
    if isinstance(errors, dict):
        return {str(key): error_codes(value) for key, value in errors.items()}
    if isinstance(errors, list | tuple):
        return [error_codes(value) for value in errors]
    return code_of(errors)
