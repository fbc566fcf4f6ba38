"""The error envelope and pages, without I/O."""

from __future__ import annotations

import pytest
from flask import Flask
from werkzeug.exceptions import NotFound, TooManyRequests

from services.core.errors import Conflict
from services.core.usecases.api_pages import Page
from services.web.envelope import fluxus_error_response, http_error_response

pytestmark = pytest.mark.unit


@pytest.fixture
def app() -> Flask:
    return Flask("envelope-test")


def test_webargs_field_errors_are_flattened_out_of_their_location(app: Flask) -> None:
    error = NotFound()
    error.code = 422
    error.data = {"messages": {"json": {"email": ["Not a valid email address."]},  # type: ignore[attr-defined]
                               "query": {"page": ["Must be ≥ 1."]}}}
    with app.app_context():
        body = http_error_response(error).get_json()
    assert body == {"code": "validation_error", "status": 422,
                    "message": "The input is not valid.",
                    "errors": {"email": ["Not a valid email address."],
                               "page": ["Must be ≥ 1."]},
                    "error_codes": {"email": ["email_invalid"], "page": ["invalid"]}}


def test_fluxus_errors_and_429_render_the_same_shape(app: Flask) -> None:
    with app.app_context():
        conflict = fluxus_error_response(Conflict("Taken.", errors={"plan_id": ["x"]}))
        limited = http_error_response(TooManyRequests("60 per 1 minute"))
    assert conflict.status_code == 409
    assert conflict.get_json() == {"code": "conflict", "status": 409, "message": "Taken.",
                                   "errors": {"plan_id": ["x"]},
                                   "error_codes": {"plan_id": ["invalid"]}}
    assert limited.get_json()["code"] == "rate_limited"
    assert "60 per 1 minute" in limited.get_json()["message"]


@pytest.mark.parametrize(("total", "size", "pages"), [(0, 20, 0), (1, 20, 1), (40, 20, 2),
                                                     (41, 20, 3)])
def test_pages_count_the_last_partial_page(total: int, size: int, pages: int) -> None:
    assert Page(items=[], total=total, page=1, page_size=size).pages == pages
