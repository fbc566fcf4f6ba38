"""Production checks follow FLUXUS_COMPONENT: a process is refused only for credentials it uses
(the chart gives each component only those; issue #19)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from services.core.config import COMPONENT_CREDENTIALS, Settings
from services.core.errors import ConfigurationError

pytestmark = pytest.mark.unit

PRODUCTION = {
    "FLUXUS_ENV": "production",
    "FLUXUS_EINVOICE_ENABLED": "false",
    "FLUXUS_REDIS_PRIVATE_NETWORK": "true",
}
DB = {"FLUXUS_DATABASE_URL": "postgresql+psycopg2://fluxus:Str0ng-pass@db:5432/fluxus"}
REDIS = {"FLUXUS_REDIS_URL": "redis://:Str0ng-pass@redis:6379/0"}


def test_the_dashboard_starts_in_production_with_no_credential_at_all() -> None:
    settings = Settings.from_env({**PRODUCTION, "FLUXUS_COMPONENT": "ui"})
    assert settings.is_production


def test_a_renewal_pod_needs_only_the_database_and_redis() -> None:
    Settings.from_env({**PRODUCTION, **DB, **REDIS, "FLUXUS_COMPONENT": "renewal"})
    with pytest.raises(ConfigurationError, match="FLUXUS_DATABASE_URL"):
        Settings.from_env({**PRODUCTION, **REDIS, "FLUXUS_COMPONENT": "renewal"})


@pytest.mark.parametrize("component", ["api", "payment", "", "not-a-component"])
def test_a_process_that_uses_the_jwt_secret_is_still_refused_without_it(component: str) -> None:
    env = {
        **PRODUCTION,
        **DB,
        **REDIS,
        "FLUXUS_DATA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "FLUXUS_COMPONENT": component,
    }
    with pytest.raises(ConfigurationError, match="FLUXUS_JWT_SECRET must be set"):
        Settings.from_env(env)


def test_the_payment_service_is_refused_with_ecpay_stage_keys_and_the_api_is_not() -> None:
    env = {
        **PRODUCTION,
        **DB,
        **REDIS,
        "FLUXUS_JWT_SECRET": "x" * 40,
        "FLUXUS_DATA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    }
    Settings.from_env({**env, "FLUXUS_COMPONENT": "api"})
    with pytest.raises(ConfigurationError, match="FLUXUS_ECPAY_HASH_KEY"):
        Settings.from_env({**env, "FLUXUS_COMPONENT": "payment"})


def test_no_component_reads_the_jwt_secret_except_the_two_that_verify_tokens() -> None:
    readers = {c for c, names in COMPONENT_CREDENTIALS.items() if "FLUXUS_JWT_SECRET" in names}
    assert readers == {"api", "payment"}
