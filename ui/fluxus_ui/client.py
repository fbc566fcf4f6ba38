"""Typed async client of the Fluxus API and payment service, with refresh-token rotation."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx

from fluxus_ui.errors import ApiError, ApiUnavailable, SessionExpired
from fluxus_ui.models import (
    AuditEntry,
    CheckoutForm,
    Invoice,
    Order,
    Plan,
    Subscription,
    User,
)

T = TypeVar("T")
_GATEWAY_TROUBLE = (502, 503, 504)


@dataclass
class Credentials:
    """One login's tokens, kept server-side; the client rotates them in place."""

    access: str
    refresh: str
    user: User | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False, compare=False)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int = 1
    page_size: int = 20


def _items_and_total(response: httpx.Response, body: Any) -> tuple[list[Any], int]:
    if isinstance(body, list):
        header = response.headers.get("X-Pagination")
        total = len(body)
        if header:
            try:
                total = int(json.loads(header).get("total", total))
            except (ValueError, AttributeError):
                total = len(body)
        return body, total
    if isinstance(body, dict):
        for key in ("results", "items", "data"):
            if isinstance(body.get(key), list):
                items = body[key]
                return items, int(body.get("total", body.get("count", len(items))) or 0)
    return [], 0


class ApiClient:
    """Every call the dashboard makes; raises ApiError, ApiUnavailable or SessionExpired."""

    def __init__(
        self,
        api_url: str,
        payment_url: str,
        *,
        credentials: Credentials | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 15.0,
        on_expired: Callable[[], None] | None = None,
        forwarded_for: str | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        # The customer's address, sent as one proxy hop: the API's per-IP limits and audit
        # rows then see each customer rather than this dashboard process.
        self.forwarded_for = forwarded_for
        self.payment_url = payment_url.rstrip("/")
        self.credentials = credentials
        self.on_expired = on_expired
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- plumbing -------------------------------------------------------------------------
    async def _send(
        self, method: str, url: str, *, auth: bool, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if self.forwarded_for:
            headers["X-Forwarded-For"] = self.forwarded_for
        used_access = None
        if auth:
            if self.credentials is None:
                raise SessionExpired("not logged in")
            used_access = self.credentials.access
            headers["Authorization"] = f"Bearer {used_access}"
        try:
            response = await self._http.request(method, url, headers=headers, **kwargs)
        except httpx.TransportError as exc:
            raise ApiUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code == 401 and auth and used_access is not None:
            await self._refresh(used_access)
            return await self._send(method, url, auth=True, headers=headers, **kwargs)
        return response

    async def _call(
        self, method: str, path: str, *, auth: bool = True, base: str | None = None,
        **kwargs: Any,
    ) -> tuple[httpx.Response, Any]:
        response = await self._send(method, (base or self.api_url) + path, auth=auth, **kwargs)
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
        if response.status_code in _GATEWAY_TROUBLE:
            raise ApiUnavailable(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise ApiError.from_response(response.status_code, body)
        return response, body

    async def _refresh(self, used_access: str) -> None:
        creds = self.credentials
        if creds is None:
            raise SessionExpired("not logged in")
        async with creds.lock:
            if creds.access != used_access:
                return  # another page of this session already rotated the tokens
            try:
                response = await self._http.post(
                    self.api_url + "/api/auth/refresh/", json={"refresh": creds.refresh}
                )
            except httpx.TransportError as exc:
                raise ApiUnavailable(f"{type(exc).__name__}: {exc}") from exc
            if response.status_code in _GATEWAY_TROUBLE:
                raise ApiUnavailable(f"HTTP {response.status_code}")
            body = response.json() if response.status_code < 300 else None
            if not isinstance(body, dict) or not body.get("access"):
                self._expire()
                raise SessionExpired(f"refresh refused (HTTP {response.status_code})")
            creds.access = str(body["access"])
            # Rotation: the old refresh token is dead now; presenting it again would revoke
            # the whole family, so the new one must replace it before anything else runs.
            creds.refresh = str(body.get("refresh") or creds.refresh)

    def _expire(self) -> None:
        self.credentials = None
        if self.on_expired is not None:
            self.on_expired()

    async def _page(
        self, path: str, parse: Callable[[dict[str, Any]], T], params: dict[str, Any]
    ) -> Page[T]:
        clean = {k: v for k, v in params.items() if v not in (None, "")}
        response, body = await self._call("GET", path, params=clean)
        items, total = _items_and_total(response, body)
        return Page(
            [parse(item) for item in items], total,
            int(clean.get("page", 1)), int(clean.get("page_size", 20)),
        )

    # --- auth and account -----------------------------------------------------------------
    async def register(self, username: str, email: str, password: str,
                       password_confirm: str | None = None) -> User:
        payload = {"username": username, "email": email, "password": password,
                   "password_confirm": password if password_confirm is None else password_confirm}
        _, body = await self._call("POST", "/api/auth/register/", auth=False, json=payload)
        return User.from_json(body or {})

    async def login(self, login: str, password: str) -> Credentials:
        payload = {"username": login, "password": password}
        _, body = await self._call("POST", "/api/auth/login/", auth=False, json=payload)
        user = User.from_json(body["user"]) if isinstance(body.get("user"), dict) else None
        self.credentials = Credentials(str(body["access"]), str(body["refresh"]), user)
        return self.credentials

    async def logout(self) -> None:
        creds = self.credentials
        if creds is None:
            return
        try:
            await self._call("POST", "/api/auth/logout/", json={"refresh": creds.refresh})
        except (SessionExpired, ApiError):
            pass  # the tokens are forgotten here either way; the API expires them
        finally:
            self.credentials = None

    async def me(self) -> User:
        _, body = await self._call("GET", "/api/users/me/")
        user = User.from_json(body)
        if self.credentials is not None:
            self.credentials.user = user
        return user

    async def update_user(self, user_id: str, **changes: Any) -> User:
        _, body = await self._call("PATCH", f"/api/users/{user_id}/", json=changes)
        return User.from_json(body)

    async def change_password(self, old_password: str, new_password: str) -> None:
        payload = {"old_password": old_password, "new_password": new_password}
        await self._call("POST", "/api/users/change_password/", json=payload)

    async def verify_email(self, token: str) -> None:
        await self._call("POST", "/api/auth/verify-email/", auth=False, json={"token": token})

    async def request_password_reset(self, email: str) -> None:
        await self._call("POST", "/api/auth/password-reset/", auth=False, json={"email": email})

    async def reset_password(self, token: str, password: str,
                             password_confirm: str | None = None) -> None:
        payload = {"token": token, "password": password}
        if password_confirm is not None:
            payload["password_confirm"] = password_confirm
        await self._call("POST", "/api/auth/password-reset/confirm/", auth=False, json=payload)

    async def users(self, page: int = 1, page_size: int = 50, search: str = "") -> Page[User]:
        params = {"page": page, "page_size": page_size, "search": search}
        return await self._page("/api/users/", User.from_json, params)

    # --- catalogue and billing ------------------------------------------------------------
    async def plans(self) -> list[Plan]:
        response, body = await self._call("GET", "/api/plans/", auth=False,
                                          params={"page_size": 100})
        items, _ = _items_and_total(response, body)
        return sorted((Plan.from_json(i) for i in items), key=lambda p: p.sort_order)

    async def subscriptions(
        self, *, status: str = "", user_id: str = "", page: int = 1, page_size: int = 50
    ) -> Page[Subscription]:
        params = {"status": status, "user_id": user_id, "page": page, "page_size": page_size}
        return await self._page("/api/subscriptions/", Subscription.from_json, params)

    async def create_subscription(self, plan_id: str, auto_renew: bool = True) -> Subscription:
        payload = {"plan_id": plan_id, "auto_renew": auto_renew}
        _, body = await self._call("POST", "/api/subscriptions/", json=payload)
        return Subscription.from_json(body)

    async def set_auto_renew(self, subscription_id: str, auto_renew: bool) -> Subscription:
        path = f"/api/subscriptions/{subscription_id}/"
        _, body = await self._call("PATCH", path, json={"auto_renew": auto_renew})
        return Subscription.from_json(body)

    async def update_subscription_status(
        self, subscription_id: str, status: str, *, at_period_end: bool = False
    ) -> Subscription:
        payload: dict[str, Any] = {"status": status}
        if at_period_end:
            payload["at_period_end"] = True
        path = f"/api/subscriptions/{subscription_id}/update_status/"
        _, body = await self._call("PATCH", path, json=payload)
        return Subscription.from_json(body)

    async def orders(
        self, *, status: str = "", user_id: str = "", page: int = 1, page_size: int = 50
    ) -> Page[Order]:
        params = {"status": status, "user_id": user_id, "page": page, "page_size": page_size}
        return await self._page("/api/orders/", Order.from_json, params)

    async def order(self, order_id: str) -> Order:
        _, body = await self._call("GET", f"/api/orders/{order_id}/")
        return Order.from_json(body)

    async def create_order(
        self, subscription_id: str, payment_method: str, idempotency_key: str | None = None,
        invoice: dict[str, Any] | None = None, coupon_code: str | None = None,
    ) -> Order:
        """`invoice`: this order's e-invoice details; None keeps the account's. `coupon_code`
        is redeemed on the subscription before the order is priced."""
        key = idempotency_key or uuid.uuid4().hex
        payload: dict[str, Any] = {"subscription_id": subscription_id,
                                   "payment_method": payment_method}
        if invoice is not None:
            payload["invoice"] = invoice
        if coupon_code:
            payload["coupon_code"] = coupon_code
        _, body = await self._call(
            "POST", "/api/orders/", json=payload, headers={"Idempotency-Key": key}
        )
        return Order.from_json(body)

    async def invoices(
        self, *, user_id: str = "", page: int = 1, page_size: int = 50
    ) -> Page[Invoice]:
        params = {"user_id": user_id, "page": page, "page_size": page_size}
        return await self._page("/api/invoices/", Invoice.from_json, params)

    async def invoice(self, invoice_id: str) -> Invoice:
        _, body = await self._call("GET", f"/api/invoices/{invoice_id}/")
        return Invoice.from_json(body)

    # --- plan changes, refunds and credit (parsed by stores.plan_change, stores.refunds) ---
    async def change_plan(self, subscription_id: str, body: dict[str, Any], *,
                          preview: bool, idempotency_key: str | None = None) -> dict[str, Any]:
        """The change's lines (`preview`), or the change made (an upgrade's order to pay)."""
        path = f"/api/subscriptions/{subscription_id}/change-plan/"
        if preview:
            _, answer = await self._call("POST", path + "preview/", json=body)
        else:
            headers = {"Idempotency-Key": idempotency_key or uuid.uuid4().hex}
            _, answer = await self._call("POST", path, json=body, headers=headers)
        return dict(answer or {})

    async def open_plan_change(self, subscription_id: str) -> dict[str, Any] | None:
        """The subscription's scheduled or unpaid change, or None."""
        try:
            _, body = await self._call("GET", f"/api/subscriptions/{subscription_id}/change-plan/")
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return dict(body or {})

    async def cancel_plan_change(self, subscription_id: str) -> None:
        await self._call("DELETE", f"/api/subscriptions/{subscription_id}/change-plan/")

    async def order_refunds(self, order_id: str) -> dict[str, Any]:
        _, body = await self._call("GET", f"/api/orders/{order_id}/refunds/")
        return dict(body or {})

    async def credit_balance(self) -> dict[str, Any]:
        _, body = await self._call("GET", "/api/credits/", params={"page_size": 1})
        return dict(body or {})

    # --- staff queues (parsed by stores.backoffice) ----------------------------------------
    async def staff_queue(self, path: str, **filters: Any) -> Page[dict[str, Any]]:
        """A staff list: "payment-reviews" or "einvoices", filtered as the API allows."""
        return await self._page(f"/api/{path}/", dict, {"page_size": 100, **filters})

    async def staff_action(self, path: str, payload: dict[str, Any] | None = None) -> None:
        """A staff action on one item, e.g. "payment-reviews/<id>/resolve"."""
        await self._call("POST", f"/api/{path}/", json=payload or {})

    async def audit_logs(self, **filters: Any) -> Page[AuditEntry]:
        return await self._page("/api/audit-logs/", AuditEntry.from_json, filters)

    # --- payment service ------------------------------------------------------------------
    async def checkout_form(self, order_id: str) -> CheckoutForm:
        _, body = await self._call(
            "POST", "/payment/ecpay/create/", base=self.payment_url, json={"order_id": order_id}
        )
        return CheckoutForm.from_json(body)

    async def invoice_of_order(self, order_id: str) -> Invoice:
        _, body = await self._call("GET", f"/payment/invoice/{order_id}/", base=self.payment_url)
        return Invoice.from_json(body)

    async def invoice_pdf(self, invoice: Invoice) -> bytes:
        """The invoice's PDF from the payment service (owner or staff), where pdf_url says."""
        path = invoice.pdf_url or f"/payment/invoice/{invoice.order_id}/pdf"
        if not path.startswith("/"):
            raise ApiError(502, "bad_pdf_url", "the invoice PDF address is not ours")
        response = await self._send("GET", self.payment_url + path, auth=True)
        if response.status_code in _GATEWAY_TROUBLE:
            raise ApiUnavailable(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = None
            raise ApiError.from_response(response.status_code, body)
        if not response.content.startswith(b"%PDF"):
            raise ApiError(502, "not_a_pdf", "the invoice PDF could not be read")
        return response.content
