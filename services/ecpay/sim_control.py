"""A client of the simulator's JSON control API (`/_sim`), for test clocks: they play ECPay's
side of a card agreement (run its next scheduled charge) and read back what it posted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

PERIOD_KIND = "PeriodReturnURL"


@dataclass(frozen=True)
class AgreementState:
    periods_run: int  # charges run so far, the checkout's first one included
    exec_times: int
    running: bool  # ExecStatus 1: ECPay will charge again


class SimulatorError(Exception):
    """The simulator refused or could not be reached."""


class SimulatorControl:
    def __init__(self, base_url: str, *, timeout: float = 10.0,
                 http: httpx.Client | None = None) -> None:
        self._base = base_url.rstrip("/") + "/_sim"
        self._http = http or httpx.Client(timeout=timeout)

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            answer = self._http.request(method, self._base + path, **kwargs)
        except httpx.HTTPError as exc:
            raise SimulatorError(f"the ECPay simulator did not answer: {exc}") from exc
        if answer.status_code != 200:
            raise SimulatorError(f"the ECPay simulator refused {path}: {answer.text[:200]}")
        body: dict[str, Any] = answer.json()
        return body

    def agreement(self, merchant_trade_no: str) -> AgreementState:
        order = self._call("GET", f"/orders/{merchant_trade_no}")["order"]
        return AgreementState(periods_run=int(order["periods_run"]),
                              exec_times=int(order["exec_times"] or 0),
                              running=order["exec_status"] == "1")

    def charge_next(self, merchant_trade_no: str) -> None:
        self._call("POST", f"/orders/{merchant_trade_no}/period", json={})

    def period_posts(self, merchant_trade_no: str) -> list[dict[str, str]]:
        """The signed fields of every PeriodReturnURL post of the agreement, oldest first."""
        rows = self._call("GET", "/notifications",
                          params={"merchant_trade_no": merchant_trade_no, "kind": PERIOD_KIND})
        return [dict(row["fields"]) for row in rows["notifications"]]

    def close(self) -> None:
        self._http.close()
