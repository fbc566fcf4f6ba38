"""The public plan list from each API process's memory: a Plan change shows once the copy is
`FLUXUS_PLAN_LIST_CACHE_SECONDS` old (never later), pages and totals stay right, and a client
holding the current ETag gets 304 with no body."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import pytest
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

ClientFor = Callable[[float], FlaskClient]


class Stopwatch:
    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


@pytest.fixture
def stopwatch() -> Stopwatch:
    return Stopwatch()


@pytest.fixture
def client_for(settings: Settings, stopwatch: Stopwatch) -> Iterator[ClientFor]:
    """An API whose plan-list copy is `max_age` seconds long, timed by the stopwatch."""

    def build(max_age: float) -> FlaskClient:
        app = create_app(dataclasses.replace(settings, plan_list_cache_seconds=max_age))
        app.extensions[LIST_CACHE] = PlanListCache(max_age, monotonic=stopwatch)
        return app.test_client()

    yield build
    dispose_engines()


def _add_plans(session: Session, *slugs: str, first_sort_order: int = 0) -> None:
    for n, slug in enumerate(slugs):
        make_plan(session, slug=slug, sort_order=first_sort_order + n)
    session.commit()


def _slugs(client: FlaskClient, **params: int) -> list[str]:
    response = client.get("/api/plans/", query_string=params)
    assert response.status_code == 200
    return [plan["slug"] for plan in response.get_json()["results"]]


def test_a_plan_change_shows_when_the_copy_is_max_age_old(
    session: Session, stopwatch: Stopwatch, client_for: ClientFor
) -> None:
    _add_plans(session, "basic", first_sort_order=1)
    client = client_for(5)
    assert _slugs(client) == ["basic"]
    _add_plans(session, "team", first_sort_order=2)
    archive_plan(session, "basic")
    session.commit()
    stopwatch.seconds += 4.9
    assert _slugs(client) == ["basic"]  # served from memory: no read within max_age
    stopwatch.seconds += 0.1
    assert _slugs(client) == ["team"]
    assert client.get("/api/plans/").headers["Cache-Control"] == "public, max-age=5"


def test_zero_reads_the_list_on_every_request(session: Session, client_for: ClientFor) -> None:
    _add_plans(session, "basic")
    client = client_for(0)
    assert _slugs(client) == ["basic"]
    _add_plans(session, "team", first_sort_order=5)
    assert _slugs(client) == ["basic", "team"]
    assert client.get("/api/plans/").headers["Cache-Control"] == "public, no-cache"


def test_pages_of_the_cached_list_count_the_whole_list(
    session: Session, client_for: ClientFor
) -> None:
    _add_plans(session, "a", "b", "c")
    client = client_for(5)
    second = client.get("/api/plans/", query_string={"page": 2, "page_size": 2}).get_json()
    assert [p["slug"] for p in second["results"]] == ["c"]
    assert (second["total"], second["page"], second["page_size"], second["pages"]) == \
        (3, 2, 2, 2)
    beyond = client.get("/api/plans/", query_string={"page": 9, "page_size": 2}).get_json()
    assert beyond["results"] == [] and beyond["total"] == 3
    assert _slugs(client, page=1, page_size=2) == ["a", "b"]
    assert client.get("/api/plans/", query_string={"page_size": 101}).status_code == 422


def test_the_current_etag_gets_304_and_a_changed_list_a_new_etag(
    session: Session, stopwatch: Stopwatch, client_for: ClientFor
) -> None:
    _add_plans(session, "basic")
    client = client_for(5)
    etag = client.get("/api/plans/").headers["ETag"]
    again = client.get("/api/plans/", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    other_page = client.get("/api/plans/", query_string={"page_size": 5},
                            headers={"If-None-Match": etag})
    assert other_page.status_code == 200  # another page is another document
    _add_plans(session, "team", first_sort_order=9)
    stopwatch.seconds += 5
    changed = client.get("/api/plans/", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert [p["slug"] for p in changed.get_json()["results"]] == ["basic", "team"]
    assert changed.headers["ETag"] != etag


def test_an_unchanged_list_keeps_its_etag_after_a_new_read(
    session: Session, stopwatch: Stopwatch, client_for: ClientFor
) -> None:
    _add_plans(session, "basic")
    client = client_for(5)
    etag = client.get("/api/plans/").headers["ETag"]
    stopwatch.seconds += 60
    assert client.get("/api/plans/", headers={"If-None-Match": etag}).status_code == 304


@pytest.mark.parametrize("seconds", [-1.0, 301.0])
def test_a_cache_time_out_of_range_is_refused(settings: Settings, seconds: float) -> None:
    with pytest.raises(ConfigurationError, match="FLUXUS_PLAN_LIST_CACHE_SECONDS"):
        dataclasses.replace(settings, plan_list_cache_seconds=seconds).validate()
