"""The page chrome every view sits in: header, navigation, language, messages, main area.

Plain Panel layouts with inline CSS: nothing here fetches fonts or assets from the internet.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

import panel as pn
from panel.reactive import ReactiveHTML

from fluxus_ui.i18n import LANGUAGES

ACCENT = "#0f6e5a"
PAGE_CSS = """
:host { font-family: system-ui, -apple-system, "Noto Sans TC", "PingFang TC",
        "Microsoft JhengHei", sans-serif; }
"""
TABLE_CSS = """
.wrap { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #e3e6e8;
         white-space: nowrap; }
th { color: #56616b; font-weight: 600; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px;
         background: #eef1f3; }
.badge.completed, .badge.active { background: #dff3ea; color: #0b5d44; }
.badge.failed, .badge.past_due, .badge.expired { background: #fde2e1; color: #9b1c1c; }
.badge.pending, .badge.processing, .badge.trial { background: #fff3cd; color: #7a5a00; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dt { color: #56616b; } dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
.card { border: 1px solid #dfe3e6; border-radius: 10px; padding: 16px; background: #fff; }
.card.popular { border: 2px solid """ + ACCENT + """; }
.price { font-size: 26px; font-weight: 700; }
.muted { color: #6b7680; }
.pill { background: """ + ACCENT + """; color: #fff; border-radius: 10px; padding: 2px 10px;
        font-size: 12px; }
ul.features { padding-left: 18px; margin: 8px 0; }
p, dd, dt, li { font-size: 15px; line-height: 1.5; }
.code { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: 22px;
        font-weight: 700; letter-spacing: 1px; word-break: break-all; }
button.copy { min-height: 44px; min-width: 64px; margin-left: 8px; font-size: 15px;
              border: 1px solid #b9c3ca; border-radius: 6px; background: #fff; }
.coderow { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 8px;
           padding: 6px 0; border-bottom: 1px solid #eef1f3; }
.coderow .label { color: #56616b; min-width: 7em; font-size: 15px; }
.coderow .note { font-size: 18px; font-weight: 600; }
/* At a phone's width a table becomes a list: one block per row, each cell labelled. */
@media (max-width: 600px) {
  table, thead, tbody, tr, th, td { display: block; width: 100%; }
  thead { display: none; }
  tr { border-bottom: 1px solid #dfe3e6; padding: 8px 0; }
  td { border: none; padding: 2px 0; white-space: normal; font-size: 15px; }
  td::before { content: attr(data-label); display: inline-block; min-width: 7em;
               color: #56616b; }
  dl { grid-template-columns: 1fr; gap: 0; } dd { margin-bottom: 6px; }
}
"""
# Tap targets of at least 44 px and 16 px text in inputs (smaller makes phones zoom in).
TAP_CSS = """
.bk-btn, .bk-input, select.bk-input { min-height: 44px; font-size: 16px; }
.bk-btn-group { display: flex; flex-wrap: wrap; }
.bk-btn-group .bk-btn { min-height: 44px; flex: 1 1 auto; }
"""
for _widget in (pn.widgets.Button, pn.widgets.TextInput, pn.widgets.PasswordInput,
                pn.widgets.Select, pn.widgets.RadioButtonGroup):
    _widget.stylesheets = [TAP_CSS]  # type: ignore[assignment]  # a class default


def html_pane(body: str, **kwargs: Any) -> pn.pane.HTML:
    """Markup written by the views (values escaped with ``esc``) with the shared styles."""
    kwargs.setdefault("sizing_mode", "stretch_width")
    return pn.pane.HTML(body, stylesheets=[TABLE_CSS], **kwargs)


def esc(value: object) -> str:
    return html.escape(str(value))


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, raw: bool = False) -> str:
    """An HTML table; cells are escaped unless ``raw`` (then the caller escaped them)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    cell = (lambda c: c) if raw else esc
    labels = [esc(h) for h in headers]
    body = "".join(
        "<tr>" + "".join(f'<td data-label="{label}">{cell(c)}</td>'
                         for label, c in zip(labels, row, strict=False)) + "</tr>"
        for row in rows
    )
    return (f'<div class="wrap"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def code_rows(rows: Sequence[tuple[str, str, str, bool]], copy: str, copied: str) -> str:
    """Payment codes in type-from-it size: (label, code, a note beside it, copyable)."""
    out = []
    for label, value, note, copyable in rows:
        action = (f'<button class="copy fx-copy" data-code="{esc(value)}" '
                  f'data-done="{esc(copied)}" onclick="navigator.clipboard.writeText('
                  f'this.dataset.code).then(() => {{ this.textContent = this.dataset.done; }})">'
                  f"{esc(copy)}</button>") if copyable else ""
        aside = f'<span class="note">{esc(note)}</span>' if note else ""
        out.append(f'<div class="coderow"><span class="label">{esc(label)}</span>'
                   f'<span class="code">{esc(value)}</span>{aside}{action}</div>')
    return "".join(out)


def badge(status: str, label: str) -> str:
    return f'<span class="badge {esc(status)}">{esc(label)}</span>'


def definition_list(pairs: Sequence[tuple[str, str]]) -> str:
    return "<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in pairs) + "</dl>"


def heading(text: str) -> pn.pane.HTML:
    return pn.pane.HTML(f"<h2 style='margin:8px 0'>{esc(text)}</h2>", margin=(0, 5))


def button(label: str, on_click: Callable[[Any], Any], kind: str = "default",
           name: str = "", **kwargs: Any) -> pn.widgets.Button:
    widget = pn.widgets.Button(name=label, button_type=kind, **kwargs)
    if name:
        widget.css_classes = [f"fx-{name}"]
    widget.on_click(on_click)
    return widget


class Shell:
    """Header with navigation and language switch, a message strip, and the page body."""

    def __init__(self, on_nav: Callable[[str], Any], on_language: Callable[[str], Any]) -> None:
        self.on_nav = on_nav
        self.nav = pn.FlexBox(flex_wrap="wrap", align_items="center", sizing_mode="stretch_width")
        self.language = pn.widgets.Select(options={v: k for k, v in LANGUAGES.items()},
                                          width=120, css_classes=["fx-language"])
        self.language.param.watch(lambda e: on_language(e.new), "value")
        self.brand = pn.pane.HTML("", margin=(5, 10))
        self.messages = pn.Column(sizing_mode="stretch_width")
        self.main = pn.Column(sizing_mode="stretch_width", min_height=300)
        header = pn.FlexBox(
            self.brand, self.nav, self.language, flex_wrap="wrap", align_items="center",
            justify_content="space-between", sizing_mode="stretch_width",
            styles={"border-bottom": f"3px solid {ACCENT}", "background": "#f6f8f9"},
        )
        self.root = pn.Column(
            header, self.messages, self.main, sizing_mode="stretch_width",
            stylesheets=[PAGE_CSS], styles={"max-width": "1100px", "margin": "0 auto"},
        )

    def set_navigation(self, brand: str, items: list[tuple[str, str]], language: str) -> None:
        self.brand.object = f"<b style='font-size:18px;color:{ACCENT}'>{esc(brand)}</b>"
        buttons = []
        for page, label in items:
            b = pn.widgets.Button(name=label, button_type="light", css_classes=[f"fx-nav-{page}"],
                                  margin=(4, 2))
            b.on_click(self._nav_handler(page))
            buttons.append(b)
        self.nav.objects = buttons
        if self.language.value != language:
            self.language.value = language

    def _nav_handler(self, page: str) -> Callable[[Any], Any]:
        return lambda _event: self.on_nav(page)

    def flash(self, text: str, level: str = "info") -> None:
        """A dismissable message above the page (kept until the next navigation)."""
        self.messages.objects = [
            pn.pane.Alert(text, alert_type=level, sizing_mode="stretch_width",
                          css_classes=[f"fx-alert-{level}"])
        ]

    def clear_messages(self) -> None:
        self.messages.objects = []

    def show(self, *objects: Any) -> None:
        self.main.objects = list(objects)


class ScrollIntoView(ReactiveHTML):
    """Placed at the top of a section that just appeared: brings it into view, because below
    the fold a click seems to do nothing."""

    _template = '<div id="mark" class="fx-scroll-mark"></div>'
    _scripts = {  # noqa: RUF012 - Panel reads this class attribute
        "render": "setTimeout(() => mark.scrollIntoView({block: 'start'}), 50);",
    }

    def __init__(self, **params: object) -> None:
        super().__init__(height=0, margin=0, sizing_mode="stretch_width", **params)
