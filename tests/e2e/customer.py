"""A customer driving Fluxus over HTTP, as the dashboard would: API, payment service, gateway."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.waiting import wait_for

PASSWORD = "Blue-Mango-2026!"





@dataclass
class Customer:
    api: str
    payment: str
    gateway: str
    username: str = field(default_factory=lambda: f"cust{uuid.uuid4().hex[:8]}")
    access: str = ""
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    @property
    def email(self) -> str:
        return f"{self.username}@example.tw"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}

    def _ok(self, response: httpx.Response, *statuses: int) -> Any:
        assert response.status_code in (statuses or (200,)), (response.status_code, response.text)
        return response.json()

    def register_and_log_in(self) -> Customer:
        body = {"username": self.username, "email": self.email, "password": PASSWORD}
        self._ok(self.http.post(f"{self.api}/api/auth/register/", json=body), 202)
        login = {"username": self.username, "password": PASSWORD}
        self.access = self._ok(self.http.post(f"{self.api}/api/auth/login/", json=login))["access"]
        return self

    def plan(self, slug: str) -> dict[str, Any]:
        plans = self._ok(self.http.get(f"{self.api}/api/plans/"))
        items = plans["results"] if isinstance(plans, dict) else plans
        return next(p for p in items if p["slug"] == slug)

    def subscribe(self, plan_id: str, auto_renew: bool = True) -> dict[str, Any]:
        body = {"plan_id": plan_id, "auto_renew": auto_renew}
        return self._ok(  # type: ignore[no-any-return]
            self.http.post(f"{self.api}/api/subscriptions/", json=body, headers=self.headers),
            201,
        )

    def order(self, subscription_id: str, method: str) -> dict[str, Any]:
        body = {"subscription_id": subscription_id, "payment_method": method}
        return self._ok(  # type: ignore[no-any-return]
            self.http.post(f"{self.api}/api/orders/", json=body, headers=self.headers), 201
        )

    def get(self, path: str) -> Any:
        return self._ok(self.http.get(f"{self.api}{path}", headers=self.headers))

    def check_out(self, order_id: str) -> dict[str, Any]:
        """Ask for the ECPay form and submit it to the gateway, as the browser does."""
        form = self._ok(self.http.post(f"{self.payment}/payment/ecpay/create/",
                                       json={"order_id": order_id}, headers=self.headers))
        assert form["action"].startswith(self.gateway), form["action"]
        page = self.http.post(form["action"], data=form["fields"])
        assert page.status_code == 200, page.text
        return form  # type: ignore[no-any-return]

    def gateway_action(self, trade_no: str, action: str) -> Any:
        """The simulator's control API: pay, fail, issue-code, period …"""
        return self._ok(self.http.post(f"{self.gateway}/_sim/orders/{trade_no}/{action}"))

    def wait_order(self, order_id: str, status: str, timeout: float = 60.0) -> dict[str, Any]:
        return wait_for(  # type: ignore[no-any-return]
            lambda: (o := self.get(f"/api/orders/{order_id}/"))["status"] == status and o,
            f"order {order_id} to be {status}", timeout,
        )
