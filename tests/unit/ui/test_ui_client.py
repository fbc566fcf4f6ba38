"""The API client: token rotation, one refresh for concurrent calls, and the errors it raises."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from fluxus_ui.client import ApiClient
from fluxus_ui.errors import ApiError, ApiUnavailable, SessionExpired

pytestmark = [pytest.mark.unit, pytest.mark.asyncio]


class FakeApi:
    """Just enough of the Fluxus API to exercise the client: rotating refresh tokens."""

    def __init__(self) -> None:
        self.valid_access = {"a1"}
        self.live_refresh = {"r1"}
        self.refresh_calls = 0
        self.presented_refresh: list[str] = []
        self.counter = 1

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/auth/login/":
            return httpx.Response(200, json={"access": "a1", "refresh": "r1", "user": {
                "id": "u1", "username": "mei", "email": "mei@example.tw", "is_staff": False}})
        if path == "/api/auth/refresh/":
            return self._refresh(json.loads(request.content))
        if path == "/api/auth/register/":
            # The API's real 422 bodies (tests/integration/api/test_api_auth.py registers the
            # same input): fields flat under "errors", each a list of messages.
            if "@" not in json.loads(request.content)["email"]:  # refused by the schema
                return httpx.Response(422, json={
                    "code": "validation_error", "status": 422,
                    "message": "The input is not valid.",
                    "errors": {"email": ["Not a valid email address."]}})
            return httpx.Response(422, json={  # refused by the password rules
                "code": "validation_error", "status": 422,
                "message": "The password is not acceptable.",
                "errors": {"password": ["This password is too common."]}})
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.valid_access:
            return httpx.Response(401, json={"code": "token_expired", "status": 401,
                                             "message": "Token has expired", "errors": {}})
        if path == "/api/orders/":
            return httpx.Response(200, json={"results": [{
                "id": "o1", "order_number": "FX1", "status": "pending", "amount": "990",
                "payment_method": "atm"}], "total": 7, "page": 1, "page_size": 1, "pages": 7})
        return httpx.Response(404, json={"code": "not_found", "status": 404,
                                         "message": "Not found.", "errors": {}})

    def _refresh(self, body: dict[str, Any]) -> httpx.Response:
        self.refresh_calls += 1
        token = body["refresh"]
        self.presented_refresh.append(token)
        if token not in self.live_refresh:
            return httpx.Response(401, json={"code": "token_revoked", "status": 401,
                                             "message": "reused", "errors": {}})
        self.live_refresh.discard(token)
        self.counter += 1
        access, refresh = f"a{self.counter}", f"r{self.counter}"
        self.valid_access = {access}
        self.live_refresh.add(refresh)
        return httpx.Response(200, json={"access": access, "refresh": refresh})

    def client(self, **kwargs: Any) -> ApiClient:
        return ApiClient("http://api.test", "http://pay.test",
                         transport=httpx.MockTransport(self.handler), **kwargs)


async def test_expired_access_token_is_refreshed_and_the_new_refresh_token_kept() -> None:
    api = FakeApi()
    client = api.client()
    await client.login("mei", "pw")
    api.valid_access = set()  # the access token expires

    page = await client.orders()
    assert page.items[0].order_number == "FX1"
    assert client.credentials is not None
    assert client.credentials.refresh == "r2"

    api.valid_access = set()  # expires again: the rotated token must be the one presented
    await client.orders()
    assert api.presented_refresh == ["r1", "r2"]


async def test_concurrent_calls_share_one_refresh_so_no_token_is_reused() -> None:
    api = FakeApi()
    client = api.client()
    await client.login("mei", "pw")
    api.valid_access = set()

    pages = await asyncio.gather(*(client.orders() for _ in range(5)))

    assert all(p.total == 7 for p in pages)
    assert api.refresh_calls == 1


async def test_refused_refresh_ends_the_session() -> None:
    api = FakeApi()
    expired: list[bool] = []
    client = api.client(on_expired=lambda: expired.append(True))
    await client.login("mei", "pw")
    api.valid_access = set()
    api.live_refresh = set()  # revoked, e.g. after a password change elsewhere

    with pytest.raises(SessionExpired):
        await client.orders()
    assert expired == [True]
    assert client.credentials is None


@pytest.mark.parametrize(
    ("email", "message", "errors"),
    [("mei@example.tw", "The password is not acceptable.",
      {"password": "This password is too common."}),
     ("not-an-email", "The input is not valid.", {"email": "Not a valid email address."})],
)
async def test_field_errors_come_back_per_field(
    email: str, message: str, errors: dict[str, str]
) -> None:
    client = FakeApi().client()
    with pytest.raises(ApiError) as caught:
        await client.register("mei", email, "password123")
    assert (caught.value.status, caught.value.code) == (422, "validation_error")
    assert caught.value.message == message
    assert caught.value.errors == errors


async def test_api_that_cannot_be_reached_is_reported_as_unavailable() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = ApiClient("http://api.test", "http://pay.test", transport=httpx.MockTransport(down))
    with pytest.raises(ApiUnavailable):
        await client.plans()


async def test_bad_gateway_is_reported_as_unavailable() -> None:
    client = ApiClient("http://api.test", "http://pay.test",
                       transport=httpx.MockTransport(lambda r: httpx.Response(502, text="oops")))
    with pytest.raises(ApiUnavailable):
        await client.plans()


async def test_calls_without_a_login_do_not_reach_the_api() -> None:
    api = FakeApi()
    with pytest.raises(SessionExpired):
        await api.client().orders()
