"""The public plan list from each API process's memory: a Plan change shows once the copy is
`FLUXUS_PLAN_LIST_CACHE_SECONDS` old (never later), pages and totals stay right, and a client
holding the current ETag gets 304 with no body."""

from __future__ import annotations

import dataclasses

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from services.api.app import create_app
from services.api.resources.plans.list_cache import PlanListCache
from services.api.resources.plans.routes import LIST_CACHE
from services.core.config import Settings
from services.core.db.session import dispose_engines
from services.core.errors import ConfigurationError
from services.core.usecases.plans import archive_plan
from tests.support.factories import make_plan

pytestmark = pytest.mark.integration


class Stopwatch:
    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


def _app(settings: Settings, max_age: float, stopwatch: Stopwatch) -> Flask:
    app = create_app(dataclasses.replace(settings, plan_list_cache_seconds=max_age))
    app.extensions[LIST_CACHE] = PlanListCache(max_age, monotonic=stopwatch)
    return app


def _slugs(client: FlaskClient, **params: int) -> list[str]:
    response = client.get("/api/plans/", query_string=params)
    assert response.status_code == 200
    return [plan["slug"] for plan in response.get_json()["results"]]


@pytest.fixture
def stopwatch() -> Stopwatch:
    return Stopwatch()


def test_a_plan_change_shows_when_the_copy_is_max_age_old(
    settings: Settings, session: Session, stopwatch: Stopwatch
) -> None:
    make_plan(session, slug="basic", sort_order=1)
    session.commit()
    app = _app(settings, 5, stopwatch)
    client = app.test_client()
    try:
        assert _slugs(client) == ["basic"]
        make_plan(session, slug="team", sort_order=2)
        archive_plan(session, "basic")
        session.commit()
        stopwatch.seconds += 4.9
        assert _slugs(client) == ["basic"]  # served from memory: no read within max_age
        stopwatch.seconds += 0.1
        assert _slugs(client) == ["team"]
        response = client.get("/api/plans/")
        assert response.headers["Cache-Control"] == "public, max-age=5"
    finally:
        dispose_engines()


def test_zero_reads_the_list_on_every_request(
    settings: Settings, session: Session, stopwatch: Stopwatch
) -> None:
    make_plan(session, slug="basic")
    session.commit()
    app = _app(settings, 0, stopwatch)
    client = app.test_client()
    try:
        assert _slugs(client) == ["basic"]
        make_plan(session, slug="team", sort_order=5)
        session.commit()
        assert _slugs(client) == ["basic", "team"]
        assert client.get("/api/plans/").headers["Cache-Control"] == "public, no-cache"
    finally:
        dispose_engines()


def test_pages_of_the_cached_list_count_the_whole_list(
    settings: Settings, session: Session, stopwatch: Stopwatch
) -> None:
    for n, slug in enumerate(("a", "b", "c")):
        make_plan(session, slug=slug, sort_order=n)
    session.commit()
    client = _app(settings, 5, stopwatch).test_client()
    try:
        second = client.get("/api/plans/", query_string={"page": 2, "page_size": 2}).get_json()
        assert [p["slug"] for p in second["results"]] == ["c"]
        assert (second["total"], second["page"], second["page_size"], second["pages"]) == \
            (3, 2, 2, 2)
        beyond = client.get("/api/plans/", query_string={"page": 9, "page_size": 2}).get_json()
        assert beyond["results"] == [] and beyond["total"] == 3
        assert _slugs(client, page=1, page_size=2) == ["a", "b"]
        refused = client.get("/api/plans/", query_string={"page_size": 101})
        assert refused.status_code == 422
    finally:
        dispose_engines()


def test_the_current_etag_gets_304_and_a_changed_list_a_new_etag(
    settings: Settings, session: Session, stopwatch: Stopwatch
) -> None:
    make_plan(session, slug="basic")
    session.commit()
    client = _app(settings, 5, stopwatch).test_client()
    try:
        first = client.get("/api/plans/")
        etag = first.headers["ETag"]
        again = client.get("/api/plans/", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.data == b""
        assert again.headers["ETag"] == etag
        other_page = client.get("/api/plans/", query_string={"page_size": 5},
                                headers={"If-None-Match": etag})
        assert other_page.status_code == 200  # another page is another document
        make_plan(session, slug="team", sort_order=9)
        session.commit()
        stopwatch.seconds += 5
        changed = client.get("/api/plans/", headers={"If-None-Match": etag})
        assert changed.status_code == 200
        assert [p["slug"] for p in changed.get_json()["results"]] == ["basic", "team"]
        assert changed.headers["ETag"] != etag
    finally:
        dispose_engines()


def test_an_unchanged_list_keeps_its_etag_after_a_new_read(
    settings: Settings, session: Session, stopwatch: Stopwatch
) -> None:
    make_plan(session, slug="basic")
    session.commit()
    client = _app(settings, 5, stopwatch).test_client()
    try:
        etag = client.get("/api/plans/").headers["ETag"]
        stopwatch.seconds += 60
        assert client.get("/api/plans/", headers={"If-None-Match": etag}).status_code == 304
    finally:
        dispose_engines()


@pytest.mark.parametrize("seconds", [-1.0, 301.0])
def test_a_cache_time_out_of_range_is_refused(settings: Settings, seconds: float) -> None:
    with pytest.raises(ConfigurationError, match="FLUXUS_PLAN_LIST_CACHE_SECONDS"):
        dataclasses.replace(settings, plan_list_cache_seconds=seconds).validate()
