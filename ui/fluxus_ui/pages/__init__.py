"""Pages as small view classes: each renders one screen from the stores and calls them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import panel as pn

if TYPE_CHECKING:
    from fluxus_ui.app import DashboardApp


class View:
    name = ""
    needs_login = True

    def __init__(self, app: DashboardApp) -> None:
        self.app = app

    def t(self, key: str, **values: object) -> str:
        return self.app.t(key, **values)

    def status(self, status: str) -> str:
        return self.t(f"status.{status}") if status else "—"

    def method(self, method: str) -> str:
        return self.t(f"method.{method}") if method else "—"

    async def render(self, **params: Any) -> pn.viewable.Viewable:
        raise NotImplementedError
