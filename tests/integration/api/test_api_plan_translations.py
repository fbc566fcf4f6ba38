"""Plan translations end to end below the browser: the Plan resource's zh-TW words reach the
plans row, the plans list, ECPay's item name and the e-mails, in the customer's language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from services.core.clock import FixedClock
from services.core.config import Settings
from services.core.db.models import EmailDelivery, Plan
from services.core.usecases import checkout, email_delivery
from services.core.usecases.plans import reconcile_plan
from services.ecpay.credentials import EcpayCredentials
from tests.support.factories import NOW, make_order, make_subscription, make_user

pytestmark = pytest.mark.integration
SAMPLE = Path(__file__).parents[3] / "k8s" / "samples" / "pro-yearly.yaml"
URLS = checkout.CheckoutUrls.under("https://pay.fluxus.example")


def sample_spec() -> dict[str, Any]:
    return yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))["spec"]


@pytest.fixture
def pro_yearly(session: Session) -> Plan:
    result = reconcile_plan(session, FixedClock(NOW), "pro-yearly", sample_spec(), 1)
    session.commit()
    return session.get_one(Plan, result.plan_id)


def test_the_plans_list_carries_the_translations(client: FlaskClient, pro_yearly: Plan) -> None:
    body = client.get("/api/plans/").get_json()
    plan = (
        next(p for p in body["results"] if p["slug"] == "pro-yearly")
        if isinstance(body, dict)
        else next(p for p in body if p["slug"] == "pro-yearly")
    )
    assert plan["name"] == "Pro (Yearly)"
    zh = plan["translations"]["zh-TW"]
    assert zh["name"] == "專業版（年繳）"
    assert zh["features"][0] == "最多 15 位團隊成員"
    assert len(zh["features"]) == len(plan["features"])


def test_removing_the_translations_from_the_resource_clears_them(
    session: Session, pro_yearly: Plan
) -> None:
    spec = sample_spec()
    del spec["translations"]
    result = reconcile_plan(session, FixedClock(NOW), "pro-yearly", spec, 2)
    session.commit()
    assert result.changed
    session.refresh(pro_yearly)
    assert pro_yearly.translations == {}


@pytest.mark.parametrize(
    ("language", "item"), [("zh-TW", "專業版（年繳）"), ("en", "Pro (Yearly)")]
)
def test_ecpay_item_name_is_the_plan_in_the_customers_language_with_the_cycle_once(
    session: Session, pro_yearly: Plan, language: str, item: str
) -> None:
    user = make_user(session, language=language)
    order = make_order(
        session, make_subscription(session, user, pro_yearly), amount=pro_yearly.price
    )
    session.commit()
    form = checkout.create_checkout(
        session,
        FixedClock(NOW),
        user_id=user.id,
        order_id=order.id,
        credentials=EcpayCredentials.stage(),
        urls=URLS,
    )
    assert form.fields["ItemName"] == item


@pytest.mark.parametrize(
    ("language", "name"), [("zh-TW", "專業版（年繳）"), ("en", "Pro (Yearly)")]
)
def test_emails_name_the_plan_in_the_recipients_language(
    session: Session, settings: Settings, pro_yearly: Plan, language: str, name: str
) -> None:
    user = make_user(session, language=language)
    order = make_order(session, make_subscription(session, user, pro_yearly))
    delivery = EmailDelivery(
        event_key="t",
        template="payment_confirmation",
        recipient=user.email,
        user_id=user.id,
        context={"order_id": str(order.id)},
    )
    values = email_delivery.template_values(session, delivery, user, settings)
    assert values["plan_name"] == name
    assert "_plan_id" not in values
