"""Keeps the browser's address bar and history in step with the page shown.

Panel's Location pushes a history entry per changed part and never hears Back, so one small
component does both: Python sets ``nav`` (a JSON pair of the URL and whether to replace the
current entry rather than push one; one value, so the two cannot arrive out of order), the
browser's popstate reports the address it went back or forward to in ``popped``, and
``leave`` makes the browser load another address for real (the session-cookie step).
"""

from __future__ import annotations

import json

import param
from panel.reactive import ReactiveHTML


class UrlBar(ReactiveHTML):
    nav = param.String(default="")
    popped = param.String(default="")
    leave = param.String(default="")

    _template = '<div id="bar" class="fx-urlbar"></div>'

    _scripts = {  # noqa: RUF012 - Panel reads this class attribute
        "render": """
        window.addEventListener('popstate', () => {
          data.popped = JSON.stringify([window.location.pathname + window.location.search,
                                        Date.now()]);
        });
        """,
        "nav": """
        const [url, replace] = JSON.parse(data.nav || '["", false]');
        const here = window.location.pathname + window.location.search;
        if (url && url !== here) {
          if (replace) { window.history.replaceState({}, '', url); }
          else { window.history.pushState({}, '', url); }
        }
        """,
        "leave": "if (data.leave) { window.location.assign(data.leave); }",
    }

    def __init__(self, **params: object) -> None:
        super().__init__(height=0, width=0, margin=0, **params)

    def set_url(self, url: str, *, replace: bool = False) -> None:
        self.nav = json.dumps([url, replace])

    def popped_url(self) -> str:
        """The address the browser's Back or Forward landed on."""
        try:
            return str(json.loads(self.popped)[0])
        except (ValueError, IndexError, TypeError):
            return ""
