"""The e-invoice (電子發票) choice as a form: a kind, only the fields that kind needs, a format
hint under each, and the API's error for each field; used on the account and at checkout."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import panel as pn

from fluxus_ui.models import INVOICE_FIELDS, INVOICE_KINDS, InvoicePreference
from fluxus_ui.stores.einvoices import Translate, field_errors
from fluxus_ui.template import esc

ERROR_STYLE = {"color": "#b42318", "font-size": "13px"}
HINT_STYLE = {"color": "#6b7680", "font-size": "13px"}
TEXT_FIELDS = ("carrier_num", "love_code", "tax_id", "company_name", "address")
SHOWN_ORDER = ("carrier_num", "love_code", "tax_id", "company_name", "company_print", "address")
# The carrier number's label, hint and example change with the kind it is for.
_CARRIER = {"mobile_barcode": ("einv.field.barcode", "einv.hint.barcode", "/ABC+123"),
            "certificate": ("einv.field.certificate", "einv.hint.certificate",
                            "AB12345678901234")}


class InvoiceForm:
    """Widgets for one InvoicePreference; `prefix` names its CSS classes (prefix-carrier_num,
    prefix-error-carrier_num …) so two forms never share them."""

    def __init__(self, t: Translate, pref: InvoicePreference, email: str, prefix: str) -> None:
        self.t = t
        self.email = email
        self.prefix = prefix
        self.kind = pn.widgets.RadioBoxGroup(
            name=t("einv.kind"), options={t(f"einv.kind.{k}"): k for k in INVOICE_KINDS},
            value=pref.kind, inline=False, css_classes=[f"{prefix}-kind"],
        )
        self.text = {
            name: pn.widgets.TextInput(name=t(f"einv.field.{name}"), value=getattr(pref, name),
                                       css_classes=[f"{prefix}-{name}"],
                                       sizing_mode="stretch_width")
            for name in TEXT_FIELDS
        }
        self.text["tax_id"].placeholder = "22099131"
        self.text["love_code"].placeholder = "919"
        for name, most in (("carrier_num", 20), ("love_code", 7), ("tax_id", 8),
                           ("company_name", 200), ("address", 200)):
            self.text[name].max_length = most  # the API's own limits
        self.inputs: dict[str, pn.widgets.Widget] = dict(self.text)
        self.inputs["company_print"] = pn.widgets.Checkbox(
            name=t("einv.field.company_print"), value=pref.company_print,
            css_classes=[f"{prefix}-company_print"],
        )
        self.errors = {
            name: pn.pane.HTML("", styles=ERROR_STYLE, margin=(0, 10),
                               css_classes=[f"{prefix}-error-{name}"])
            for name in ("kind", *self.inputs)
        }
        self.general = pn.pane.HTML("", styles={"color": "#b42318"},
                                    css_classes=[f"{prefix}-error"])
        self.hints = {name: pn.pane.HTML("", styles=HINT_STYLE, margin=(0, 10))
                      for name in (*self.inputs, "kind")}
        self.rows = {name: pn.Column(self.inputs[name], self.hints[name], self.errors[name],
                                     sizing_mode="stretch_width", margin=0)
                     for name in SHOWN_ORDER}
        # What is in each box now: `value` waits for Enter or blur, `value_input` for nothing.
        self.typed = {name: str(getattr(pref, name)) for name in TEXT_FIELDS}
        for name in TEXT_FIELDS:
            self.inputs[name].param.watch(self._typing(name), ["value", "value_input"])
        self.kind.param.watch(lambda _e: self._arrange(), "value")
        self.inputs["company_print"].param.watch(lambda _e: self._arrange(), "value")
        self._arrange()

    def layout(self) -> pn.Column:
        return pn.Column(
            pn.pane.HTML(f"<b>{esc(self.t('einv.kind'))}</b>", margin=(5, 10, 0, 10)),
            self.kind, self.errors["kind"], self.hints["kind"], *self.rows.values(),
            self.general, sizing_mode="stretch_width", css_classes=[f"{self.prefix}-form"],
        )

    def watch(self, callback: Callable[[], Any]) -> None:
        """Call `callback` whenever the choice changes, keystrokes included (for a summary)."""
        for name, widget in self.inputs.items():
            names = ["value", "value_input"] if name in TEXT_FIELDS else ["value"]
            widget.param.watch(lambda *_events: callback(), names)
        self.kind.param.watch(lambda _e: callback(), "value")

    def preference(self) -> InvoicePreference:
        values = {name: self.typed[name] for name in TEXT_FIELDS}
        return InvoicePreference(kind=str(self.kind.value), **values,
                                 company_print=bool(self.inputs["company_print"].value))

    def clear(self) -> None:
        for pane in (*self.errors.values(), self.general):
            pane.object = ""

    def show_errors(self, errors: dict[str, str], general: str = "") -> None:
        """The API's field errors next to their fields; the rest in one line below."""
        self.clear()
        unplaced = []
        for field, message in field_errors(self.preference(), errors, self.t).items():
            if field in self.errors:
                self.errors[field].object = esc(message)
            else:
                unplaced.append(message)
        self.general.object = esc(" ".join([general, *unplaced]).strip())

    def _typing(self, name: str) -> Callable[[Any], None]:
        def keep(*events: Any) -> None:  # both parameters may change in one batch
            self.typed[name] = str(events[-1].new or "")

        return keep

    def _arrange(self) -> None:
        kind = str(self.kind.value)
        needed = set(INVOICE_FIELDS.get(kind, ()))
        if not self.inputs["company_print"].value:
            needed.discard("address")
        for name, row in self.rows.items():
            row.visible = name in needed
        if kind in _CARRIER:
            label, hint, example = _CARRIER[kind]
            self.text["carrier_num"].name = self.t(label)
            self.text["carrier_num"].placeholder = example
            self.hints["carrier_num"].object = esc(self.t(hint))
        self.hints["love_code"].object = esc(self.t("einv.hint.love_code"))
        self.hints["tax_id"].object = esc(self.t("einv.hint.tax_id"))
        kind_hint = {"cloud": self.t("einv.hint.cloud", email=self.email),
                     "company": self.t("einv.hint.company")}.get(kind, "")
        self.hints["kind"].object = esc(kind_hint)
        self.hints["kind"].visible = bool(kind_hint)
