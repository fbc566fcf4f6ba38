"""Hands the signed checkout form to the browser, which posts it to the gateway itself."""

from __future__ import annotations

import json

import param
from panel.reactive import ReactiveHTML

from fluxus_ui.models import CheckoutForm


class GatewayRedirect(ReactiveHTML):
    """Builds the form in the page and submits it; its button is the manual fallback.

    The payment fields travel to the browser only because the browser must post them to
    ECPay; they are signed order data, not credentials.
    """

    action = param.String(default="")
    fields_json = param.String(default="{}")
    label = param.String(default="Continue")
    auto_submit = param.Boolean(default=True)

    _template = '<div id="holder" class="fx-gateway"></div>'

    _scripts = {  # noqa: RUF012 - Panel reads this class attribute
        "render": """
        const form = document.createElement('form');
        form.method = 'POST';
        form.action = data.action;
        form.className = 'fx-gateway-form';
        const fields = JSON.parse(data.fields_json);
        for (const [name, value] of Object.entries(fields)) {
          const input = document.createElement('input');
          input.type = 'hidden'; input.name = name; input.value = value;
          form.appendChild(input);
        }
        const go = document.createElement('button');
        go.type = 'submit'; go.textContent = data.label; go.className = 'fx-gateway-submit';
        form.appendChild(go);
        holder.appendChild(form);
        if (data.auto_submit) { setTimeout(() => form.submit(), 300); }
        """,
    }

    @classmethod
    def for_form(cls, form: CheckoutForm, label: str, auto_submit: bool = True) -> GatewayRedirect:
        return cls(action=form.action, fields_json=json.dumps(form.fields), label=label,
                   auto_submit=auto_submit, sizing_mode="stretch_width", height=60)
