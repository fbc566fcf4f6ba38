"""The customer-facing payment endpoints: checkout form, return, invoice, dev test payment."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from services.core.config import Settings
from services.ecpay.checkmac import verify_check_mac_value
from tests.integration.payment.conftest import (
    STAGE,
    Served,
    World,
    notifications,
    order_of,
    seed,
    totals,
)

pytestmark = pytest.mark.integration

CREATE = "/payment/ecpay/create/"


def test_the_owner_gets_a_signed_checkout_form_for_a_pending_order(
    payment: Served, world: World, settings: Settings
) -> None:
    with payment.client(world.user_id) as client:
        response = client.post(CREATE, json={"order_id": str(world.order_id)})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["action"] == settings.ecpay_gateway_url + "/Cashier/AioCheckOut/V5"
    assert body["method"] == "POST"
    fields = body["fields"]
    assert verify_check_mac_value(fields, STAGE.hash_key, STAGE.hash_iv)
    assert (fields["TotalAmount"], fields["ChoosePayment"]) == ("990", "Credit")
    # A card payment's ReturnURL then carries its gwsr, which card refunds are keyed by.
    assert fields["NeedExtraPaidInfo"] == "Y"
    # Every checkout is a new attempt: ECPay refuses a MerchantTradeNo it has seen.
    assert fields["MerchantTradeNo"] != world.order_number
    with payment.client(world.user_id) as client:
        again = client.post(CREATE, json={"order_id": str(world.order_id)}).json()["fields"]
    assert again["MerchantTradeNo"] not in (world.order_number, fields["MerchantTradeNo"])
    base = settings.public_payment_url
    assert fields["ReturnURL"] == f"{base}/payment/ecpay/callback/"
    assert fields["OrderResultURL"] == f"{base}/payment/ecpay/return/?order_id={world.order_id}"
    # An auto-renewing card subscription sets up the periodic agreement.
    assert (fields["PeriodAmount"], fields["PeriodType"], fields["Frequency"],
            fields["ExecTimes"]) == ("990", "M", "1", "99")
    assert fields["PeriodReturnURL"] == f"{base}/payment/ecpay/period/"


@pytest.mark.parametrize(
    ("cycle", "terms"), [("quarterly", ("M", "3", "99")), ("yearly", ("Y", "1", "9"))]
)
def test_periodic_terms_follow_the_billing_cycle(
    payment: Served, engine: Engine, cycle: str, terms: tuple[str, str, str]
) -> None:
    world = seed(engine, cycle=cycle, price=2700)
    with payment.client(world.user_id) as client:
        fields = client.post(CREATE, json={"order_id": str(world.order_id)}).json()["fields"]
    assert (fields["PeriodType"], fields["Frequency"], fields["ExecTimes"]) == terms


def test_atm_checkout_gets_an_expiry_and_a_payment_info_url_but_no_agreement(
    payment: Served, engine: Engine, settings: Settings
) -> None:
    world = seed(engine, method="atm")
    with payment.client(world.user_id) as client:
        fields = client.post(CREATE, json={"order_id": str(world.order_id)}).json()["fields"]
    assert (fields["ChoosePayment"], fields["ExpireDate"]) == ("ATM", "3")
    assert fields.get("NeedExtraPaidInfo", "") == ""
    assert fields["PaymentInfoURL"] == f"{settings.public_payment_url}/payment/ecpay/payment-info/"
    assert "PeriodType" not in fields


def test_a_card_subscription_without_auto_renew_pays_once(
    payment: Served, engine: Engine
) -> None:
    world = seed(engine, auto_renew=False)
    with payment.client(world.user_id) as client:
        fields = client.post(CREATE, json={"order_id": str(world.order_id)}).json()["fields"]
    assert "PeriodType" not in fields


def test_checkout_of_someone_elses_or_a_missing_order_is_not_found(
    payment: Served, engine: Engine, world: World
) -> None:
    other = seed(engine)
    with payment.client(other.user_id) as client:
        for order_id in (world.order_id, uuid.uuid4()):
            response = client.post(CREATE, json={"order_id": str(order_id)})
            assert response.status_code == 404
            assert response.json()["code"] == "not_found"


def test_checkout_refuses_anonymous_callers_bad_input_and_paid_orders(
    payment: Served, engine: Engine, world: World
) -> None:
    response = payment.client().post(CREATE, json={"order_id": str(world.order_id)})
    assert (response.status_code, response.json()["code"]) == (401, "unauthorized")
    with payment.client(world.user_id) as client:
        assert client.post(CREATE, json={"order_id": "nope"}).status_code == 422
        assert client.post(CREATE, json={}).status_code == 422
        paid = seed(engine, order_fields={"status": "completed"})
    with payment.client(paid.user_id) as client:
        response = client.post(CREATE, json={"order_id": str(paid.order_id)})
    assert (response.status_code, response.json()["code"]) == (409, "order_not_payable")


def test_an_order_whose_code_expired_gets_a_new_attempt_and_a_live_agreement_blocks_a_link(
    payment: Served, engine: Engine
) -> None:
    waiting = seed(engine, method="atm", order_fields={"status": "processing"})
    with payment.client(waiting.user_id) as client:
        response = client.post(CREATE, json={"order_id": str(waiting.order_id)})
    assert response.status_code == 200, response.text
    assert response.json()["fields"]["MerchantTradeNo"] != waiting.order_number

    # While a card agreement is live ECPay charges the period itself: no second payment.
    charged = seed(engine, sub_fields={"status": "active", "period_agreement_no": "FXAGREE1"},
                   order_fields={"is_renewal": True})
    with payment.client(charged.user_id) as client:
        response = client.post(CREATE, json={"order_id": str(charged.order_id)})
    assert (response.status_code, response.json()["code"]) == (409, "paid_by_agreement")


def test_the_customer_returns_to_the_dashboards_order_page(
    payment: Served, world: World, settings: Settings
) -> None:
    with payment.client() as client:
        back = client.get(f"/payment/ecpay/return/?order_id={world.order_id}")
        posted = client.post(f"/payment/ecpay/return/?order_id={world.order_id}",
                             data={"RtnCode": "1"})
        hostile = client.get("/payment/ecpay/return/?order_id=//evil.example/x")
    for response in (back, posted):
        assert response.status_code == 303
        assert response.headers["Location"] == f"{settings.dashboard_url}/orders/{world.order_id}"
    assert hostile.headers["Location"] == f"{settings.dashboard_url}/orders"


def test_the_dev_test_payment_goes_through_the_callback_intake(
    payment: Served, world: World, session: Session, worker: Callable[..., None]
) -> None:
    with payment.client(world.user_id) as client:
        response = client.post("/payment/test/", json={"order_id": str(world.order_id)})
    assert response.status_code == 200, response.text
    assert (response.json()["verdict"], response.json()["answer"]) == ("accepted", "1|OK")
    [stored] = notifications(session)
    # A new attempt of its own, as a checkout would make; not SimulatePaid (never fulfilled).
    assert (stored.kind, stored.raw["SimulatePaid"]) == ("return", "0")
    assert stored.raw["MerchantTradeNo"] != world.order_number
    worker()
    assert totals(session, world) == (1, 1, 1)


def test_the_test_payment_does_not_exist_in_production_nor_for_strangers(
    serve: Callable[..., Served], settings: Settings, engine: Engine, world: World,
    session: Session,
) -> None:
    production = serve(replace(settings, env="production"))
    with production.client(world.user_id) as client:
        response = client.post("/payment/test/", json={"order_id": str(world.order_id)})
    assert response.status_code == 404
    development = serve(settings)
    with development.client(seed(engine).user_id) as client:
        response = client.post("/payment/test/", json={"order_id": str(world.order_id)})
    assert response.status_code == 404
    assert notifications(session) == []


def test_the_invoice_is_shown_to_its_owner_and_staff_only(
    payment: Served, engine: Engine, world: World, session: Session,
    worker: Callable[..., None],
) -> None:
    url = f"/payment/invoice/{world.order_id}/"
    with payment.client(world.user_id) as client:
        assert client.get(url).json()["code"] == "invoice_not_found"  # unpaid
        client.post("/payment/test/", json={"order_id": str(world.order_id)})
    worker()

    with payment.client(world.user_id) as client:
        mine = client.get(url)
    assert mine.status_code == 200
    invoice = mine.json()
    assert (invoice["total_amount"], invoice["tax_amount"], invoice["amount"]) == (
        "990", "47", "943")
    assert invoice["order_id"] == str(world.order_id)
    assert invoice["invoice_number"]

    staff = seed(engine, user_fields={"is_staff": True})
    with payment.client(staff.user_id) as client:
        assert client.get(url).json()["invoice_number"] == invoice["invoice_number"]
    with payment.client(seed(engine).user_id) as client:
        assert client.get(url).status_code == 404
    assert payment.client().get(url).status_code == 401
    assert order_of(session, world).status == "completed"


def test_the_openapi_document_describes_the_payment_service(payment: Served) -> None:
    spec = payment.client().get("/payment/openapi.json").json()
    assert {"/payment/ecpay/create/", "/payment/ecpay/callback/", "/payment/ecpay/period/",
            "/payment/ecpay/payment-info/", "/payment/invoice/{order_id}/"} <= set(spec["paths"])



def test_the_invoice_pdf_downloads_for_its_owner_and_staff_only(
    payment: Served, engine: Engine, world: World, worker: Callable[..., None],
) -> None:
    url = f"/payment/invoice/{world.order_id}/pdf"
    with payment.client(world.user_id) as client:
        assert client.get(url).status_code == 404  # unpaid: no invoice yet
        client.post("/payment/test/", json={"order_id": str(world.order_id)})
    worker()

    with payment.client(world.user_id) as client:
        mine = client.get(url)
        number = client.get(f"/payment/invoice/{world.order_id}/").json()["invoice_number"]
    assert mine.status_code == 200
    assert mine.headers["content-type"] == "application/pdf"
    assert mine.content.startswith(b"%PDF")
    assert f'filename={number}.pdf' in mine.headers["content-disposition"]
    staff = seed(engine, user_fields={"is_staff": True})
    with payment.client(staff.user_id) as client:
        assert client.get(url).content == mine.content
    with payment.client(seed(engine).user_id) as client:
        assert client.get(url).status_code == 404
    assert payment.client().get(url).status_code == 401
