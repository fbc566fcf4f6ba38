"""Data at rest: after a full flow (an ATM code issued and paid, a card paid, accounts asking
for verification and reset links), no card or bank field and no live account token is
readable anywhere in the database; `fluxus keys rotate` re-encrypts with a new key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from redis import Redis
from rq import Queue
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from services.api.app import create_app as create_api
from services.core.config import Settings, get_settings
from services.core.crypto import SEALED_PREFIX, is_sensitive
from services.core.db.models import Order, PaymentNotification
from services.core.db.session import dispose_engines
from services.payment.app import create_app as create_payment
from services.worker import context
from tests.integration.payment.conftest import World, return_fields, seed, signed
from tests.support.workers import BurstWorker

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[3]
V_ACCOUNT = "9103522175887271"
CARD6 = "431195"
PAYER_ACCOUNT = "0012345678901"
LONG_SECRETS = (V_ACCOUNT, CARD6, PAYER_ACCOUNT)


def _serve(app: Any) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def payment_url(settings: Settings) -> Iterator[str]:
    yield from _serve(create_payment(settings))


@pytest.fixture
def api_url(settings: Settings) -> Iterator[str]:
    yield from _serve(create_api(settings))
    dispose_engines()


def _atm_code(world: World) -> dict[str, str]:
    return signed({
        "MerchantID": "3002607", "MerchantTradeNo": world.order_number, "StoreID": "",
        "RtnCode": "2", "RtnMsg": "Get VirtualAccount Succeeded", "TradeNo": "2611261200001234",
        "TradeAmt": str(int(world.amount)), "PaymentType": "ATM_TAISHIN",
        "TradeDate": "2026/11/26 12:00:00", "BankCode": "812", "vAccount": V_ACCOUNT,
        "ExpireDate": "2026/11/29", "CustomField1": "", "CustomField2": "", "CustomField3": "",
        "CustomField4": "",
    })


def _run_payments(settings: Settings) -> None:
    redis = Redis.from_url(settings.redis_url)
    context.use(settings, None)
    try:
        BurstWorker([Queue("payments", connection=redis)], connection=redis).work(
            burst=True, with_scheduler=False)
    finally:
        context.use(None, None)
        redis.close()


def _full_flow(engine: Engine, settings: Settings, payment_url: str, api_url: str) -> None:
    atm = seed(engine, method="atm")
    card = seed(engine)
    posts = [
        ("/payment/ecpay/payment-info/", _atm_code(atm)),
        ("/payment/ecpay/callback/", return_fields(
            atm, PaymentType="ATM_TAISHIN", trade_no="2611261200001234",
            ATMAccBank="822", ATMAccNo=PAYER_ACCOUNT)),
        ("/payment/ecpay/callback/", return_fields(
            card, trade_no="2611261200005678", card4no="2222", card6no=CARD6,
            gwsr="12345", auth_code="777777")),
    ]
    for path, form in posts:
        answer = httpx.post(payment_url + path, data=form, timeout=30)
        assert answer.text == "1|OK", (path, answer.text)
    _run_payments(settings)

    register = httpx.post(f"{api_url}/api/auth/register/", json={
        "username": "meimei", "email": "mei@example.tw", "password": "blue-Kettle-42"})
    assert register.status_code == 202
    reset = httpx.post(f"{api_url}/api/auth/password-reset/", json={"email": "mei@example.tw"})
    assert reset.status_code == 202


def _rows(session: Session) -> Iterator[tuple[str, str]]:
    tables = session.scalars(text(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).all()
    for table in tables:
        for row in session.scalars(text(f'SELECT row_to_json(t)::text FROM "{table}" t')):  # noqa: S608 - names from the catalogue
            yield table, row


def _unsealed(value: Any, path: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if is_sensitive(key) and item not in (None, "") and not (
                    isinstance(item, str) and item.startswith(SEALED_PREFIX)):
                yield f"{path}.{key}"
            yield from _unsealed(item, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            yield from _unsealed(item, path)


def test_no_card_or_bank_field_or_live_token_is_stored_in_the_clear(
    engine: Engine, settings: Settings, session: Session, payment_url: str, api_url: str
) -> None:
    _full_flow(engine, settings, payment_url, api_url)

    session.expire_all()
    stored = list(_rows(session))
    tables = {table for table, _ in stored}
    assert {"payment_notifications", "orders", "email_deliveries", "audit_logs"} <= tables
    for table, row in stored:
        for secret in LONG_SECRETS:
            assert secret not in row, f"{secret} readable in {table}: {row[:300]}"
        assert not list(_unsealed(json.loads(row))), f"unsealed field in {table}: {row[:300]}"
        assert "token=" not in row or "token=[redacted]" in row, f"live token in {table}"

    # The application still reads them: the customer sees the ATM account to pay into.
    [order] = session.scalars(select(Order).where(Order.payment_method == "atm")).all()
    assert order.payment_info is not None and order.payment_info["v_account"] == V_ACCOUNT
    cards = [raw for raw in session.scalars(select(PaymentNotification.raw)) if "card6no" in raw]
    assert [raw["card6no"] for raw in cards] == [CARD6]


def test_keys_rotate_reencrypts_with_the_new_key_while_both_are_accepted(
    engine: Engine, settings: Settings, session: Session, payment_url: str, api_url: str
) -> None:
    _full_flow(engine, settings, payment_url, api_url)
    old = get_settings().fernet_key.decode()
    new = Fernet.generate_key().decode()
    env = {**os.environ, "FLUXUS_ENV": "development",
           "FLUXUS_DATABASE_URL": settings.database_url, "FLUXUS_REDIS_URL": settings.redis_url,
           "FLUXUS_DATA_ENCRYPTION_KEY": f"{new},{old}"}
    rotated = subprocess.run([sys.executable, "-m", "services", "keys", "rotate"],
                             cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                             timeout=120, check=False)
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    assert "re-encrypted 2 orders and 3 payment notifications" in rotated.stdout

    # Everything now opens with the new key alone, and no longer with the old one.
    only_new = {**env, "FLUXUS_DATA_ENCRYPTION_KEY": new}
    only_old = {**env, "FLUXUS_DATA_ENCRYPTION_KEY": old}
    read = ("from services.core.db.session import session_scope\n"
            "from services.core.db.models import Order, PaymentNotification\n"
            "with session_scope() as s:\n"
            "    print(sorted(o.payment_info['v_account'] for o in s.query(Order)"
            " if o.payment_info), len([n.raw for n in s.query(PaymentNotification)]))\n")
    with_new = subprocess.run([sys.executable, "-c", read], cwd=REPO_ROOT, env=only_new,
                              capture_output=True, text=True, timeout=60, check=False)
    assert with_new.returncode == 0, with_new.stderr
    assert with_new.stdout.strip() == f"['{V_ACCOUNT}'] 3"
    with_old = subprocess.run([sys.executable, "-c", read], cwd=REPO_ROOT, env=only_old,
                              capture_output=True, text=True, timeout=60, check=False)
    assert with_old.returncode != 0
    assert "cannot be decrypted" in with_old.stderr
