"""Every audit action the services record has a zh-TW and English label in the dashboard."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fluxus_ui.i18n import translate
from fluxus_ui.i18n_audit import MESSAGES, action_html

from services.core.domain.states import SubscriptionStatus

pytestmark = pytest.mark.unit

SERVICES = Path(__file__).resolve().parents[3] / "services"
# audit.record(session, actor, "code", …) and audit.values(actor, "code", …), over lines
_ARG = r"[^,()]*(?:\([^()]*\))?"
_CALL = re.compile(
    rf"""audit\.(?:record\(\s*{_ARG}\s*,|values\()\s*{_ARG}\s*,\s*["']([^"'{{}}]+)["']""")
# an action chosen before the call: `action = "a" if … else "b"`, `SKIPPED_ACTION = "…"`
_NAMED = re.compile(r"""^\s*\w*(?:action|ACTION)\s*=\s*(["'].*)$""", re.MULTILINE)
_LITERAL = re.compile(r"""["']([a-z_]+(?:\.[a-z_]+)?)["']""")


def _recorded_actions() -> set[str]:
    found: set[str] = set()
    for source in SERVICES.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        if "audit." not in text:
            continue
        found.update(_CALL.findall(text))
        for line in _NAMED.findall(text):
            found.update(_LITERAL.findall(line))
    return found


def test_every_recorded_action_has_a_label_in_both_languages() -> None:
    actions = _recorded_actions()
    # the pattern must find the calls, or the test proves nothing
    assert len(actions) >= 60, sorted(actions)
    assert {"payment.completed", "api_key.used", "card_agreement.cancel_requested",
            "subscription.activated", "renewal_skipped", "login_failed"} <= actions
    missing = sorted(a for a in actions if f"audit.{a}" not in MESSAGES)
    assert missing == []


def test_the_actions_built_from_a_status_or_an_outcome_have_labels_too() -> None:
    # lifecycle.py records f"subscription_{status}", plans.py f"plan.{outcome}"
    built = {f"subscription_{s.value}" for s in SubscriptionStatus} | {"plan.created",
                                                                        "plan.updated"}
    assert sorted(a for a in built if f"audit.{a}" not in MESSAGES) == []


def test_labels_differ_by_language_and_the_code_follows_muted() -> None:
    assert translate("audit.payment.completed") == "付款完成"
    assert translate("audit.payment.completed", "en") == "Payment completed"
    shown = action_html("payment.completed", lambda key: translate(key, "zh-TW"))
    assert shown.index("付款完成") < shown.index("payment.completed")
    assert 'class="muted fx-audit-code"' in shown
    assert action_html("<new>", translate) == '<span class="fx-audit-code">&lt;new&gt;</span>'
