"""One dashboard per browser session: stores, the shell, and the router between views."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import panel as pn

from fluxus_ui.client import ApiClient
from fluxus_ui.errors import ApiError, ApiUnavailable, SessionExpired
from fluxus_ui.i18n import translate
from fluxus_ui.pages import View
from fluxus_ui.pages.account import AccountView
from fluxus_ui.pages.auth import LoginView, RegisterView
from fluxus_ui.pages.backoffice import EInvoiceQueueView, FailedJobsView, ReviewQueueView
from fluxus_ui.pages.change_plan import ChangePlanView
from fluxus_ui.pages.customers import CustomerSearchView, CustomerView
from fluxus_ui.pages.dashboard import DashboardView
from fluxus_ui.pages.invoices import InvoicesView
from fluxus_ui.pages.orders import OrdersView
from fluxus_ui.pages.plans import PlansView
from fluxus_ui.pages.recovery import ForgotView, ResetView, VerifyView
from fluxus_ui.pages.staff import StaffView
from fluxus_ui.pages.subscription import SubscriptionView
from fluxus_ui.pages.test_clocks import TestClocksView
from fluxus_ui.routes import parse, safe_next, url_for
from fluxus_ui.server import PAGE_TEMPLATE
from fluxus_ui.session import COOKIE_NAME, VAULT, SessionVault, unsign
from fluxus_ui.stores.auth import AuthStore
from fluxus_ui.stores.backoffice import BackofficeStore
from fluxus_ui.stores.billing import BillingStore
from fluxus_ui.stores.customers import CustomerStore
from fluxus_ui.stores.staff import StaffStore
from fluxus_ui.stores.test_clocks import TestClockStore
from fluxus_ui.template import Shell
from fluxus_ui.urlbar import UrlBar

log = logging.getLogger(__name__)
T = TypeVar("T")
CUSTOMER_PAGES = ("dashboard", "plans", "orders", "invoices", "account")


class DashboardApp:
    def __init__(self, api_url: str, payment_url: str, sid: str,
                 vault: SessionVault = VAULT, *, client_ip: str | None = None) -> None:
        self.client = ApiClient(api_url, payment_url, forwarded_for=client_ip)
        self.auth = AuthStore(self.client, vault, sid)
        self.billing = BillingStore(self.client, language=lambda: self.auth.language)
        self.staff = StaffStore(self.client)
        self.backoffice = BackofficeStore(self.client)
        self.customers = CustomerStore(self.client)
        self.test_clocks = TestClockStore(self.client)
        self.shell = Shell(self.navigate, self.change_language)
        self.urlbar = UrlBar()
        self.urlbar.param.watch(lambda _e: self.spawn(self._went_back), "popped")
        self.shell.root.append(self.urlbar)
        self.views: dict[str, View] = {
            view.name: view for view in (
                LoginView(self), RegisterView(self), DashboardView(self), PlansView(self),
                OrdersView(self), InvoicesView(self), AccountView(self), StaffView(self),
                SubscriptionView(self), ForgotView(self), VerifyView(self), ResetView(self),
                ReviewQueueView(self), EInvoiceQueueView(self), ChangePlanView(self),
                CustomerSearchView(self), CustomerView(self), TestClocksView(self),
                FailedJobsView(self),
            )
        }
        self.page: tuple[str, dict[str, Any]] = ("dashboard", {})

    def t(self, key: str, **values: object) -> str:
        return translate(key, self.auth.language, **values)

    # --- navigation ------------------------------------------------------------------------
    def refresh_navigation(self) -> None:
        pages = ["plans", "login", "register"]
        if self.auth.logged_in:
            pages = [*CUSTOMER_PAGES, *(["staff"] if self.auth.is_staff else []), "logout"]
        self.shell.set_navigation(
            self.t("brand"), [(p, self.t(f"nav.{p}")) for p in pages], self.auth.language
        )

    def navigate(self, page: str, **params: Any) -> None:
        """For widget callbacks: schedule ``go`` on the session's event loop."""
        self.spawn(self.go, page, **params)

    def spawn(self, fn: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> None:
        async def run() -> None:
            await fn(*args, **kwargs)

        pn.state.execute(run)

    async def go(self, page: str, *, replace: bool = False, **params: Any) -> None:
        if page == "logout":
            await self.auth.logout()
            self.leave_to("/login")  # a new session id for whoever uses this browser next
            return
        view = self.views.get(page) or self.views["dashboard"]
        if view.needs_login and not self.auth.logged_in:
            # The login page's URL says where to return: a bookmark or refresh keeps it.
            params = {"next": url_for(view.name, params)}
            view = self.views["login"]
            replace = True
        self.page = (view.name, params)
        self.urlbar.set_url(url_for(view.name, params), replace=replace)
        self.refresh_navigation()
        self.shell.clear_messages()
        self.shell.main.loading = True
        try:
            content = await self.guarded(lambda: view.render(**params))
            if content is not None:
                self.shell.show(content)
        finally:
            self.shell.main.loading = False

    async def after_sign_in(self) -> None:
        """Where the login page's ``next`` points, through the new session id's cookie."""
        self.leave_to(safe_next(self.page[1].get("next")))

    def leave_to(self, target: str) -> None:
        """Rotate the session id and have the browser load `target` with its new cookie."""
        ticket = self.auth.rotate_session()
        self.urlbar.leave = f"/session/{ticket}?" + urlencode({"next": target})

    async def open_url(self, url: str, *, replace: bool = False) -> None:
        parts = urlsplit(url)
        page, params = parse(parts.path, parts.query)
        await self.go(page, replace=replace, **params)

    async def _went_back(self) -> None:
        url = self.urlbar.popped_url()
        if url:
            await self.open_url(url)

    def change_language(self, language: str) -> None:
        if language != self.auth.language:
            self.auth.set_language(language)
            page, params = self.page
            self.navigate(page, **params)

    async def guarded(
        self, action: Callable[[], Awaitable[T]],
        on_error: Callable[[ApiError], None] | None = None,
    ) -> T | None:
        """Run one API-backed action; turn failures into what the customer should see."""
        try:
            return await action()
        except SessionExpired:
            self.auth.logout_locally()
            await self.go("login")
            self.shell.flash(self.t("error.session_expired"), "warning")
        except ApiUnavailable as exc:
            log.warning("API unavailable: %s", exc.message)
            self.shell.flash(self.t("error.api_down"), "danger")
        except ApiError as exc:
            if on_error is not None:
                on_error(exc)
            elif exc.status == 404:
                self.shell.flash(self.t("error.not_found"), "warning")
            else:
                self.shell.flash(self.t("error.generic", message=exc.message), "danger")
        return None

    # --- start -----------------------------------------------------------------------------
    async def start(self, url: str) -> None:
        self.auth.restore()
        await self.open_url(url, replace=True)


def _close_later(client: ApiClient) -> None:
    """Close the session's HTTP connections; its document is already gone, so no pn.state."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return  # no loop (the server is stopping): the process takes the sockets with it
    task = loop.create_task(client.aclose())
    _CLOSING.add(task)
    task.add_done_callback(_CLOSING.discard)


_CLOSING: set[asyncio.Task[None]] = set()


def browser_ip(remote_ip: str | None, forwarded_for: str, trusted_proxies: int) -> str | None:
    """The browser's address: X-Forwarded-For read only across the trusted proxy hops (as the
    API's ProxyFix does), else the peer; anything further left is the client's to forge."""
    hops = [part.strip() for part in forwarded_for.split(",") if part.strip()]
    if trusted_proxies > 0 and len(hops) >= trusted_proxies:
        return hops[-trusted_proxies]
    return remote_ip


def _session_ip(trusted_proxies: int) -> str | None:
    context = pn.state.curdoc.session_context if pn.state.curdoc else None
    request = getattr(context, "request", None)
    if request is None:
        return None
    forwarded = request.headers.get("X-Forwarded-For", "")
    return browser_ip(getattr(request, "remote_ip", None),
                      forwarded if isinstance(forwarded, str) else ",".join(forwarded),
                      trusted_proxies)


def create_view(api_url: str, payment_url: str,
                trusted_proxies: int = 0) -> pn.viewable.Viewable:
    """The Panel entry point: one DashboardApp per browser session."""
    sid = unsign(pn.state.cookies.get(COOKIE_NAME)) or VAULT.create()
    if pn.state.curdoc is not None:
        pn.state.curdoc.template = PAGE_TEMPLATE  # type: ignore[assignment]  # str is allowed
    app = DashboardApp(api_url, payment_url, sid, client_ip=_session_ip(trusted_proxies))
    location = pn.state.location
    url = f"{location.pathname}{location.search}" if location is not None else "/"
    pn.state.onload(lambda: app.spawn(app.start, url))
    pn.state.on_session_destroyed(lambda _ctx: _close_later(app.client))
    app.refresh_navigation()
    return app.shell.root
