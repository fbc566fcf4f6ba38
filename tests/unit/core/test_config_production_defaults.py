"""Safe defaults: an unset FLUXUS_ENV is production, and production refuses the samples and
public stage values a deployment could carry by mistake."""

from __future__ import annotations

import pytest

from services.core.config import DEV_JWT_SECRET, STAGE_MERCHANT_ID, Settings
from services.core.errors import ConfigurationError

pytestmark = pytest.mark.unit

PRODUCTION = {
    "FLUXUS_DATABASE_URL": "postgresql+psycopg2://fluxus:s3cret@db/fluxus",
    "FLUXUS_REDIS_URL": "redis://:s3cret@redis:6379/0",
    "FLUXUS_JWT_SECRET": "x" * 48,
    "FLUXUS_DATA_ENCRYPTION_KEY": "k" * 44,
    "FLUXUS_ECPAY_MERCHANT_ID": "3099999",
    "FLUXUS_ECPAY_HASH_KEY": "realkey123456789",
    "FLUXUS_ECPAY_HASH_IV": "realiv1234567890",
    "FLUXUS_ECPAY_CREDIT_CHECK_CODE": "12345678",
    "FLUXUS_EINVOICE_ENABLED": "false",
}


def test_no_environment_at_all_is_production_and_refuses_to_start() -> None:
    with pytest.raises(ConfigurationError, match="FLUXUS_JWT_SECRET"):
        Settings.from_env({})
    assert Settings().is_production


def test_a_complete_configuration_without_fluxus_env_is_production() -> None:
    assert Settings.from_env(PRODUCTION).is_production


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"FLUXUS_JWT_SECRET": DEV_JWT_SECRET}, "FLUXUS_JWT_SECRET"),
        ({"FLUXUS_DATABASE_URL": "postgresql+psycopg2://fluxus:fluxus@fluxus-postgresql/fluxus"},
         "sample password"),
        ({"FLUXUS_REDIS_URL": "redis://redis:6379/0"}, "FLUXUS_REDIS_URL has no password"),
        ({"FLUXUS_ECPAY_MERCHANT_ID": STAGE_MERCHANT_ID}, "FLUXUS_ECPAY_MERCHANT_ID"),
        ({"FLUXUS_AUTH_THROTTLE": "false"}, "FLUXUS_AUTH_THROTTLE"),
    ],
)
def test_production_refuses_samples_and_stage_values(change: dict[str, str],
                                                     message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_env({**PRODUCTION, **change})


def test_a_redis_without_password_is_allowed_only_when_declared_private() -> None:
    environ = {**PRODUCTION, "FLUXUS_REDIS_URL": "redis://redis:6379/0",
               "FLUXUS_REDIS_PRIVATE_NETWORK": "true"}
    assert Settings.from_env(environ).redis_url == "redis://redis:6379/0"


def test_development_must_be_asked_for() -> None:
    settings = Settings.from_env({"FLUXUS_ENV": "development"})
    assert not settings.is_production
    assert settings.jwt_secret == DEV_JWT_SECRET
