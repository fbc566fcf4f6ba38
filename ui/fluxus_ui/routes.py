"""Every page's URL: a path (and query) read into a view and its parameters, and back.

Pure functions, so refresh, Back and bookmarks are one mapping that unit tests pin.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlencode

_ID = r"([0-9a-fA-F][0-9a-fA-F-]{7,39})"
# (pattern, view, the path parameter's name)
_PATHS: tuple[tuple[re.Pattern[str], str, str], ...] = tuple(
    (re.compile(f"^{pattern}/?$"), view, param) for pattern, view, param in (
        ("", "dashboard", ""),
        ("/plans", "plans", ""),
        ("/orders", "orders", ""),
        (f"/orders/{_ID}", "orders", "order_id"),
        ("/invoices", "invoices", ""),
        (f"/invoices/{_ID}", "invoices", "invoice_id"),
        (f"/subscriptions/{_ID}", "subscription", "subscription_id"),
        (f"/subscriptions/{_ID}/change-plan", "change-plan", "subscription_id"),
        ("/account", "account", ""),
        ("/login", "login", ""),
        ("/register", "register", ""),
        ("/forgot-password", "forgot", ""),
        ("/verify-email", "verify", ""),
        ("/reset-password", "reset", ""),
        ("/staff", "staff", ""),
        ("/staff/reviews", "staff-reviews", ""),
        ("/staff/einvoices", "staff-einvoices", ""),
    )
)
# Query parameters a view reads from the URL (nothing else is kept).
_QUERY = {"plans": ("plan",), "login": ("next",), "verify": ("token",), "reset": ("token",),
          "change-plan": ("plan",)}
_BASE = {"dashboard": "/", "plans": "/plans", "orders": "/orders", "invoices": "/invoices",
         "subscription": "/subscriptions", "account": "/account", "login": "/login",
         "register": "/register", "forgot": "/forgot-password", "verify": "/verify-email",
         "reset": "/reset-password", "staff": "/staff", "staff-reviews": "/staff/reviews",
         "staff-einvoices": "/staff/einvoices"}
_PARAM = {"orders": "order_id", "invoices": "invoice_id", "subscription": "subscription_id",
          "change-plan": "subscription_id"}
_BASE["change-plan"] = "/subscriptions"
# What follows the id in a view's path (a screen under another's URL).
_TAIL = {"change-plan": "/change-plan"}

# The URL paths the server answers with the dashboard (Panel's route templates).
SERVED = ("/", "/plans", "/orders", "/orders/{order_id}", "/invoices", "/invoices/{invoice_id}",
          "/subscriptions/{subscription_id}", "/subscriptions/{subscription_id}/change-plan",
          "/account", "/login", "/register",
          "/forgot-password", "/verify-email", "/reset-password", "/staff", "/staff/reviews",
          "/staff/einvoices")

# Staff back office: customer search (?q=, page) and one customer's page.
_PATHS += tuple((re.compile(f"^{pattern}/?$"), view, param) for pattern, view, param in (
    ("/staff/customers", "staff-customers", ""),
    (f"/staff/customers/{_ID}", "staff-customer", "user_id")))
_QUERY["staff-customers"] = ("q", "page")
_BASE |= {"staff-customers": "/staff/customers", "staff-customer": "/staff/customers"}
_PARAM["staff-customer"] = "user_id"
SERVED += ("/staff/customers", "/staff/customers/{user_id}")

# Staff test clocks (docs/test-clocks.md).
_PATHS += ((re.compile("^/staff/test-clocks/?$"), "staff-test-clocks", ""),)
_BASE["staff-test-clocks"] = "/staff/test-clocks"
SERVED += ("/staff/test-clocks",)

# Staff failed jobs (docs/backoffice.md).
_PATHS += ((re.compile("^/staff/jobs/?$"), "staff-jobs", ""),)
_BASE["staff-jobs"] = "/staff/jobs"
SERVED += ("/staff/jobs",)


def parse(path: str, search: str = "") -> tuple[str, dict[str, Any]]:
    """The view and parameters a URL names; an unknown path is the overview."""
    query = parse_qs(search.lstrip("?"))
    for pattern, view, name in _PATHS:
        match = pattern.match(path or "")
        if match is None:
            continue
        params: dict[str, Any] = {name: match.group(1)} if name else {}
        for key in _QUERY.get(view, ()):
            if query.get(key):
                params[key] = query[key][0]
        return view, params
    return "dashboard", {}


def url_for(view: str, params: dict[str, Any] | None = None) -> str:
    """The URL that shows `view` with `params` (what parse reads back)."""
    params = params or {}
    path = _BASE.get(view, "/")
    name = _PARAM.get(view)
    if name and params.get(name):
        path = f"{path}/{params[name]}{_TAIL.get(view, '')}"
    query = {k: params[k] for k in _QUERY.get(view, ()) if params.get(k)}
    return path + ("?" + urlencode(query) if query else "")


def safe_next(target: str | None) -> str:
    """A post-login destination: a path on this site only (never another host)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
