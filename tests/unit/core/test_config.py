"""Settings come from FLUXUS_* variables; production refuses unsafe defaults."""

import pytest

from services.core.config import STAGE_HASH_IV, STAGE_HASH_KEY, Settings, env_var_names
from services.core.errors import ConfigurationError

pytestmark = pytest.mark.unit

PRODUCTION = {
    "FLUXUS_ENV": "production",
    "FLUXUS_DATABASE_URL": "postgresql+psycopg2://fluxus:s3cret@db/fluxus",
    "FLUXUS_REDIS_URL": "redis://:s3cret@redis:6379/0",
    "FLUXUS_JWT_SECRET": "x" * 48,
    "FLUXUS_DATA_ENCRYPTION_KEY": "k" * 44,
    "FLUXUS_ECPAY_MERCHANT_ID": "2000132",
    "FLUXUS_ECPAY_HASH_KEY": "realkey123456789",
    "FLUXUS_ECPAY_HASH_IV": "realiv1234567890",
    "FLUXUS_ECPAY_CREDIT_CHECK_CODE": "12345678",
    "FLUXUS_EINVOICE_MERCHANT_ID": "2000999",
    "FLUXUS_EINVOICE_HASH_KEY": "invkey1234567890",
    "FLUXUS_EINVOICE_HASH_IV": "inviv12345678901",
}


def test_development_defaults_work_with_only_the_environment_set() -> None:
    settings = Settings.from_env({"FLUXUS_ENV": "development"})
    assert settings.env == "development"
    assert settings.jwt_access_minutes == 15
    assert settings.ecpay_merchant_id == "3002607"


def test_values_are_typed() -> None:
    settings = Settings.from_env(
        {"FLUXUS_ENV": "development", "FLUXUS_JWT_ACCESS_MINUTES": "5",
         "FLUXUS_CORS_ORIGINS": "https://a.tw, https://b.tw"}
    )
    assert settings.jwt_access_minutes == 5
    assert settings.cors_origins == ("https://a.tw", "https://b.tw")


def test_a_badly_typed_value_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="FLUXUS_SMTP_PORT"):
        Settings.from_env({"FLUXUS_SMTP_PORT": "twenty-five"})


def test_complete_production_configuration_is_accepted() -> None:
    assert Settings.from_env(PRODUCTION).is_production


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"FLUXUS_JWT_SECRET": None}, "FLUXUS_JWT_SECRET"),
        ({"FLUXUS_JWT_SECRET": "short"}, "FLUXUS_JWT_SECRET"),
        ({"FLUXUS_DATA_ENCRYPTION_KEY": None}, "FLUXUS_DATA_ENCRYPTION_KEY"),
        ({"FLUXUS_ECPAY_HASH_KEY": STAGE_HASH_KEY}, "FLUXUS_ECPAY_HASH_KEY"),
        ({"FLUXUS_ECPAY_HASH_IV": STAGE_HASH_IV}, "FLUXUS_ECPAY_HASH_IV"),
        ({"FLUXUS_ECPAY_HASH_KEY": ""}, "FLUXUS_ECPAY_HASH_KEY must be set"),
        ({"FLUXUS_DATABASE_URL": "sqlite:///x.db"}, "PostgreSQL"),
        ({"FLUXUS_ECPAY_CREDIT_CHECK_CODE": None}, "FLUXUS_ECPAY_CREDIT_CHECK_CODE"),
        ({"FLUXUS_ECPAY_CREDIT_CHECK_CODE": ""}, "FLUXUS_ECPAY_CREDIT_CHECK_CODE"),
        ({"FLUXUS_ECPAY_CREDIT_CHECK_CODE": None, "FLUXUS_COMPONENT": "worker"},
         "FLUXUS_ECPAY_CREDIT_CHECK_CODE"),
    ],
)
def test_production_refuses_defaults_and_missing_keys(change: dict, message: str) -> None:
    environ = {**PRODUCTION, **change}
    environ = {k: v for k, v in environ.items() if v is not None}
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_env(environ)


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="FLUXUS_ENV"):
        Settings.from_env({"FLUXUS_ENV": "staging"})


def test_every_variable_is_prefixed_and_unique() -> None:
    names = env_var_names()
    assert all(name.startswith("FLUXUS_") for name in names)
    assert len(names) == len(set(names))


@pytest.mark.parametrize("name", [
    "FLUXUS_EINVOICE_MERCHANT_ID", "FLUXUS_EINVOICE_HASH_KEY", "FLUXUS_EINVOICE_HASH_IV",
])
def test_production_refuses_the_public_stage_einvoice_account(name: str) -> None:
    stage = {"FLUXUS_EINVOICE_MERCHANT_ID": "2000132",
             "FLUXUS_EINVOICE_HASH_KEY": "ejCk326UnaZWKisg",
             "FLUXUS_EINVOICE_HASH_IV": "q9jcZX8Ib9LM8wYk"}
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env({**PRODUCTION, name: stage[name]})


def test_a_merchant_invoicing_elsewhere_needs_no_einvoice_account() -> None:
    env = {k: v for k, v in PRODUCTION.items() if not k.startswith("FLUXUS_EINVOICE_")}
    settings = Settings.from_env({**env, "FLUXUS_EINVOICE_ENABLED": "false"})
    assert settings.einvoice_enabled is False
    with pytest.raises(ConfigurationError, match="FLUXUS_EINVOICE_ENABLED"):
        Settings.from_env({**env, "FLUXUS_EINVOICE_ENABLED": "perhaps"})


def test_only_the_worker_needs_the_card_check_code_in_production() -> None:
    """Card refunds (CreditDetail QueryTrade) run in the worker alone."""
    environ = {k: v for k, v in PRODUCTION.items() if k != "FLUXUS_ECPAY_CREDIT_CHECK_CODE"}
    assert Settings.from_env({**environ, "FLUXUS_COMPONENT": "payment"}).is_production
