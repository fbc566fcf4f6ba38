"""FLUXUS_TEST_CLOCKS is refused beside production: FLUXUS_ENV=production or a real merchant;
and where it is off, the API refuses to make clocks."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from services.api.app import create_app
from services.core.config import Settings
from services.core.errors import ConfigurationError
from tests.integration.api.api_helpers import create_account, log_in

DEV = {"FLUXUS_ENV": "development", "FLUXUS_TEST_CLOCKS": "1"}


def test_test_clocks_start_with_the_stage_merchant() -> None:
    assert Settings.from_env(DEV).test_clocks is True
    assert Settings.from_env({**DEV, "FLUXUS_ECPAY_MERCHANT_ID": "3002599"}).test_clocks


def test_test_clocks_are_refused_with_a_real_merchant_id() -> None:
    with pytest.raises(ConfigurationError, match="FLUXUS_TEST_CLOCKS"):
        Settings.from_env({**DEV, "FLUXUS_ECPAY_MERCHANT_ID": "3123456"})


def test_test_clocks_are_refused_in_production_whatever_the_component() -> None:
    production = {"FLUXUS_ENV": "production", "FLUXUS_TEST_CLOCKS": "true",
                  "FLUXUS_COMPONENT": "ui"}
    with pytest.raises(ConfigurationError, match="FLUXUS_TEST_CLOCKS"):
        Settings.from_env(production)


def test_without_the_setting_staff_get_403_test_clocks_disabled(
    settings: Settings, session: Session
) -> None:
    app = create_app(settings)
    app.testing = True
    client = app.test_client()
    staff = log_in(client, create_account(session, is_staff=True))
    answer = client.post("/api/test-clocks/", json={"name": "x"},
                         headers={"Authorization": f"Bearer {staff.access}"})
    assert answer.status_code == 403
    assert answer.get_json()["code"] == "test_clocks_disabled"
    customer = log_in(client, create_account(session))
    answer = client.get("/api/test-clocks/", headers={"Authorization": f"Bearer {customer.access}"})
    assert answer.status_code == 403
