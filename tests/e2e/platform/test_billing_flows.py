"""Whole billing flows across real processes: `fluxus api`, `fluxus payment`, `fluxus worker`,
the ECPay simulator, PostgreSQL, a private Redis and a loopback SMTP server.

Time moves the way an operator would move it: `fluxus renew --now` for renewals, and — for
dunning, whose sweeps read the worker's real clock — by moving a subscription's dates back.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from services.core.domain.periods import BillingCycle, add_cycles
from tests.e2e.customer import Customer, wait_for
from tests.e2e.stack import ARTIFACTS, FLUXUS, REPO, Stack, running_stack
from tests.support.smtp import Inbox

pytestmark = pytest.mark.e2e
PLAN = "starter-monthly"


@pytest.fixture(scope="module")
def stack(pg_template: str, private_redis: str, inbox: tuple[Inbox, int],
          workdir: Path) -> Iterator[Stack]:
    with running_stack(template=pg_template, redis_url=private_redis, smtp_port=inbox[1],
                       workdir=workdir, logs=ARTIFACTS / "logs" / "billing_flows",
                       with_ui=False) as stack:
        yield stack


@pytest.fixture(scope="module")
def db(stack: Stack) -> Iterator[Engine]:
    engine = create_engine(stack.database_url)
    yield engine
    engine.dispose()


def customer_of(stack: Stack) -> Customer:
    return Customer(stack.api_url, stack.payment_url, stack.sim_url).register_and_log_in()


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def pay_first_order(customer: Customer, method: str) -> tuple[dict, dict]:  # type: ignore[type-arg]
    plan = customer.plan(PLAN)
    subscription = customer.subscribe(plan["id"])
    order = customer.order(subscription["id"], method)
    customer.check_out(order["id"])
    return subscription, order


def use_up_the_trial(customer: Customer) -> None:
    """One free trial per customer and plan: a cancelled first subscription leaves the next
    one without a trial, so its card checkout signs the 定期定額 agreement at once."""
    first = customer.subscribe(customer.plan(PLAN)["id"])
    customer.http.patch(f"{customer.api}/api/subscriptions/{first['id']}/update_status/",
                        json={"status": "cancelled"}, headers=customer.headers
                        ).raise_for_status()


def renew(stack: Stack, now: datetime) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FLUXUS, "renew", "--plan", PLAN, "--now", now.isoformat()],
                          env=stack.env, cwd=REPO, capture_output=True, text=True, timeout=120,
                          check=False)


def test_card_payment_completes_order_invoice_subscription_and_mail(
    stack: Stack, inbox: tuple[Inbox, int]
) -> None:
    customer = customer_of(stack)
    subscription, order = pay_first_order(customer, "credit_card")
    customer.gateway_action(order["order_number"], "pay")

    paid = customer.wait_order(order["id"], "completed")
    invoice = customer.get("/api/invoices/")["results"][0]
    assert (invoice["total_amount"], invoice["tax_amount"], invoice["amount"]) == (
        "299", "14", "285")  # 299 × 5 / 105 = 14.24 → 14
    trial = customer.get(f"/api/subscriptions/{subscription['id']}/")
    # Paying during the free trial keeps it: the paid period starts when the trial ends.
    assert trial["status"] == "trial"
    start = when(trial["start_date"])
    assert start == when(trial["trial_end_date"]) > when(paid["paid_at"])
    assert when(trial["end_date"]) == add_cycles(start, BillingCycle.MONTHLY, 1)
    # A card payment in the trial is a one-off: an agreement would be charged before it ends.
    assert trial["card_agreement"] is None
    wait_for(lambda: any(invoice["invoice_number"] in text
                         for text in inbox[0].texts_to(customer.email)),
             "the payment confirmation naming the invoice")
    # The worker issues the uniform invoice at ECPay (the simulator) and the customer sees it.
    def issued() -> dict | None:  # type: ignore[type-arg]
        einvoice = customer.get(f"/api/invoices/{invoice['id']}/")["einvoice"]
        return einvoice if einvoice["status"] == "issued" else None

    einvoice = wait_for(issued, "the uniform invoice issued")
    at_ecpay = httpx.get(f"{stack.sim_url}/_sim/einvoice", timeout=10).json()["invoices"]
    assert [row["invoice_no"] for row in at_ecpay
            if row["relate_number"] == order["order_number"]] == [einvoice["invoice_no"]]
    assert einvoice["sales_amount"] == 299 and einvoice["kind"] == "cloud"
    wait_for(lambda: any(einvoice["number"] in text
                         for text in inbox[0].texts_to(customer.email)),
             "an e-mail naming the uniform invoice")


def test_atm_code_is_issued_and_mailed_then_paid_later(
    stack: Stack, inbox: tuple[Inbox, int]
) -> None:
    customer = customer_of(stack)
    subscription, order = pay_first_order(customer, "atm")
    customer.gateway_action(order["order_number"], "issue-code")

    waiting = customer.wait_order(order["id"], "processing")
    account = waiting["payment_info"]["v_account"]
    assert waiting["payment_info"]["bank_code"] and account
    wait_for(lambda: any(account in text for text in inbox[0].texts_to(customer.email)),
             "the ATM instructions e-mail with the virtual account")
    assert customer.get(f"/api/subscriptions/{subscription['id']}/")["status"] != "active"

    customer.gateway_action(order["order_number"], "pay")
    customer.wait_order(order["id"], "completed")
    paid = customer.get(f"/api/subscriptions/{subscription['id']}/")
    assert (paid["status"], paid["start_date"]) == ("trial", paid["trial_end_date"])


def test_card_renewal_is_paid_by_the_periodic_charge_and_extends_from_the_old_end(
    stack: Stack,
) -> None:
    customer = customer_of(stack)
    use_up_the_trial(customer)
    subscription, order = pay_first_order(customer, "credit_card")
    customer.gateway_action(order["order_number"], "pay")
    customer.wait_order(order["id"], "completed")
    first = customer.get(f"/api/subscriptions/{subscription['id']}/")
    assert first["card_agreement"]["status"] == "active"
    old_end = when(first["end_date"])

    ran = renew(stack, old_end - timedelta(hours=1))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    renewal = wait_for(lambda: next((o for o in customer.get("/api/orders/")["results"]
                                     if o["is_renewal"]), None), "the renewal order")
    assert when(renewal["period_start"]) == old_end
    assert renewal["status"] == "pending"
    again = renew(stack, old_end - timedelta(hours=1))  # a second run creates nothing
    assert again.returncode == 0
    assert sum(o["is_renewal"] for o in customer.get("/api/orders/")["results"]) == 1

    customer.gateway_action(order["order_number"], "period")  # ECPay charges the card
    customer.wait_order(renewal["id"], "completed")
    renewed = customer.get(f"/api/subscriptions/{subscription['id']}/")
    assert renewed["status"] == "active"
    anchor = when(first["start_date"])
    assert when(renewed["end_date"]) == add_cycles(anchor, BillingCycle.MONTHLY, 2)
    assert len(customer.get("/api/invoices/")["results"]) == 2
    # The periodic charge gets its own uniform invoice, issued once at ECPay's stand-in.
    def both_issued() -> list[dict] | None:  # type: ignore[type-arg]
        rows = [i["einvoice"] for i in customer.get("/api/invoices/")["results"]]
        return rows if all(r["status"] == "issued" for r in rows) else None

    einvoices = wait_for(both_issued, "an e-invoice for the first payment and the renewal")
    at_ecpay = httpx.get(f"{stack.sim_url}/_sim/einvoice", timeout=10).json()["invoices"]
    ours = {e["invoice_no"] for e in einvoices}
    assert len(ours) == 2
    assert sorted(r["relate_number"] for r in at_ecpay if r["invoice_no"] in ours) == sorted(
        [order["order_number"], renewal["order_number"]])


def test_an_unpaid_renewal_goes_past_due_then_expires(stack: Stack, db: Engine,
                                                     inbox: tuple[Inbox, int]) -> None:
    customer = customer_of(stack)
    subscription, order = pay_first_order(customer, "atm")
    customer.gateway_action(order["order_number"], "issue-code")
    customer.gateway_action(order["order_number"], "pay")
    customer.wait_order(order["id"], "completed")
    old_end = when(customer.get(f"/api/subscriptions/{subscription['id']}/")["end_date"])

    assert renew(stack, old_end - timedelta(hours=1)).returncode == 0
    renewal = wait_for(lambda: next((o for o in customer.get("/api/orders/")["results"]
                                     if o["is_renewal"]), None), "the renewal order")
    pay_link = f"/orders/{renewal['id']}"
    wait_for(lambda: any(pay_link in text for text in inbox[0].texts_to(customer.email)),
             "the e-mail with the renewal's payment link")

    # The period ended yesterday and nobody paid: the dunning sweep marks it past due …
    _move_back(db, subscription["id"], days=(old_end - datetime.now(UTC)).days + 2)
    _sweep(stack)
    wait_for(lambda: customer.get(f"/api/subscriptions/{subscription['id']}/")["status"]
             == "past_due", "past_due")
    # … and once the plan's grace period is over too, it expires.
    _move_back(db, subscription["id"], days=10)
    _sweep(stack)
    wait_for(lambda: customer.get(f"/api/subscriptions/{subscription['id']}/")["status"]
             == "expired", "expired")
    assert customer.get(f"/api/orders/{renewal['id']}/")["status"] == "cancelled"


def _move_back(db: Engine, subscription_id: str, days: int) -> None:
    """Equivalent to the clock moving `days` forward for this subscription."""
    with db.begin() as conn:
        conn.execute(text(
            "UPDATE subscriptions SET anchor_date = anchor_date - make_interval(days => :d),"
            " trial_end_date = trial_end_date - make_interval(days => :d),"
            " start_date = start_date - make_interval(days => :d),"
            " end_date = end_date - make_interval(days => :d) WHERE id = :id"
        ), {"d": days, "id": subscription_id})
        conn.execute(text(
            "UPDATE orders SET period_start = period_start - make_interval(days => :d),"
            " period_end = period_end - make_interval(days => :d),"
            " expire_at = expire_at - make_interval(days => :d) WHERE subscription_id = :id"
        ), {"d": days, "id": subscription_id})


def _sweep(stack: Stack) -> None:
    """Run the trial and dunning sweeps now, on the real worker, as the scheduler would."""
    queue = Queue("maintenance", connection=Redis.from_url(stack.redis_url))
    for sweep in ("end_trials", "run_dunning"):
        job = queue.enqueue(f"services.worker.jobs.periodic.{sweep}")
        wait_for(lambda job=job: job.get_status(refresh=True) in ("finished", "failed"),
                 f"the {sweep} sweep")
        assert job.get_status() == "finished", job.latest_result()


def test_prices_are_whole_dollars_end_to_end(stack: Stack) -> None:
    customer = customer_of(stack)
    plans = {p["slug"]: Decimal(p["price"]) for p in customer.get("/api/plans/")["results"]}
    assert plans[PLAN] == Decimal(299)
    assert all(price == price.to_integral_value() for price in plans.values())
