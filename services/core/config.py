"""Typed settings, read once per process from ``FLUXUS_*`` environment variables.

This module is the only reader of ``os.environ`` in Fluxus. Every field declares the
variable it comes from, so the Helm chart and the README can be checked against it.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from services.core.errors import ConfigurationError

# ECPay's public stage credentials (documented by ECPay; not secrets).
STAGE_MERCHANT_ID = "3002607"
STAGE_HASH_KEY = "pwFHCqoQZGmho4w6"
STAGE_HASH_IV = "EkRm7iFT261dpevs"
STAGE_GATEWAY_URL = "https://payment-stage.ecpay.com.tw"
# Every MerchantID ECPay publishes for its stage (REFERENCE: AIO, platform partner, the older
# OTP/non-OTP pair): test clocks run only against these, never against a real merchant.
STAGE_MERCHANT_IDS = frozenset({STAGE_MERCHANT_ID, "3002599", "2000132", "2000214"})
PRODUCTION_GATEWAY_URL = "https://payment.ecpay.com.tw"

# ECPay's public stage e-invoice account (a separate merchant from the payment one; shared by
# everyone, so never accepted in production).
EINVOICE_STAGE_MERCHANT_ID = "2000132"
# ECPay's stage has no card check code (QueryTrade does not work there); the simulator and
# development use this public one, which production refuses.
SIM_CREDIT_CHECK_CODE = "59997889"
EINVOICE_STAGE_HASH_KEY = "ejCk326UnaZWKisg"
EINVOICE_STAGE_HASH_IV = "q9jcZX8Ib9LM8wYk"
EINVOICE_STAGE_URL = "https://einvoice-stage.ecpay.com.tw"

# The credentials each process uses (issue #19: secrets only where needed). The chart gives a
# component exactly these, and FLUXUS_COMPONENT makes production checks skip the ones a process
# never reads: a dashboard without the JWT secret is the point, not a mistake. An unknown or
# empty component checks them all.
_ECPAY = ("FLUXUS_ECPAY_MERCHANT_ID", "FLUXUS_ECPAY_HASH_KEY", "FLUXUS_ECPAY_HASH_IV")
_EINVOICE = ("FLUXUS_EINVOICE_MERCHANT_ID", "FLUXUS_EINVOICE_HASH_KEY", "FLUXUS_EINVOICE_HASH_IV")
# Only the worker refunds cards (CreditDetail QueryTrade needs the merchant's check code).
_CARD_CHECK = "FLUXUS_ECPAY_CREDIT_CHECK_CODE"
_DB, _REDIS = "FLUXUS_DATABASE_URL", "FLUXUS_REDIS_URL"
# Only the API reads lists from a replica (the dashboard reads through the API).
_REPLICA = "FLUXUS_DATABASE_REPLICA_URL"
_JWT, _DATA_KEY = "FLUXUS_JWT_SECRET", "FLUXUS_DATA_ENCRYPTION_KEY"
_SMTP = ("FLUXUS_SMTP_USERNAME", "FLUXUS_SMTP_PASSWORD")
COMPONENT_CREDENTIALS: dict[str, frozenset[str]] = {
    "api": frozenset({_DB, _REPLICA, _REDIS, _JWT, _DATA_KEY, *_EINVOICE}),
    # Checkout and invoices take the customer's bearer token; notifications are stored
    # (payment data encrypted) and enqueued; a buyer's allowance consent is verified with
    # the e-invoice keys.
    "payment": frozenset({_DB, _REDIS, _JWT, _DATA_KEY, *_ECPAY, *_EINVOICE}),
    "worker": frozenset({_DB, _REDIS, _DATA_KEY, *_ECPAY, _CARD_CHECK, *_EINVOICE, *_SMTP}),
    "scheduler": frozenset({_DB, _REDIS}),
    "operator": frozenset({_DB}),
    "renewal": frozenset({_DB, _REDIS}),  # `fluxus renew`, in the CronJobs the operator makes
    # `fluxus db upgrade` / `db wait` (the migration Job, every db-wait init container).
    "db": frozenset({_DB}),
    "ui": frozenset(),
}
CREDENTIALS = frozenset().union(*COMPONENT_CREDENTIALS.values())

# The password of the chart's sample database URL (values.yaml); production refuses it.
SAMPLE_DATABASE_PASSWORD = "fluxus"  # noqa: S105 - a known sample, refused in production
DEV_JWT_SECRET = "dev-only-insecure-jwt-secret-change-me"  # noqa: S105 - refused in production
DEV_DATA_KEY_SEED = "dev-only-insecure-data-key"


def _env(
    name: str, *, secret: bool = False, production_required: bool = False, doc: str = ""
) -> Any:
    return {"env": name, "secret": secret, "production_required": production_required, "doc": doc}


def _setting(default: Any, name: str, doc: str, **flags: bool) -> Any:
    return field(default=default, metadata=_env(name, doc=doc, **flags))


@dataclass(frozen=True)
class Settings:
    """Everything a Fluxus process can be configured with."""

    # Unset means production: a forgotten variable must fail closed (refuse the development
    # secrets and stage keys), never run a real deployment with them.
    env: str = _setting(
        "production", "FLUXUS_ENV",
        "`production` (the default) or `development` (set explicitly by `fluxus dev` and tests)",
    )
    log_level: str = _setting("INFO", "FLUXUS_LOG_LEVEL", "Python log level")
    database_url: str = _setting(
        "sqlite:///var/fluxus-dev.db", "FLUXUS_DATABASE_URL",
        "SQLAlchemy URL; PostgreSQL in production", secret=True, production_required=True,
    )
    database_replica_url: str = _setting(
        "", "FLUXUS_DATABASE_REPLICA_URL",
        "optional read replica: list endpoints read from it (writes and reads after a write"
        " stay on FLUXUS_DATABASE_URL); the API only", secret=True,
    )
    db_pool_size: int = _setting(5, "FLUXUS_DB_POOL_SIZE", "connections per process")
    db_connect_timeout: int = _setting(5, "FLUXUS_DB_CONNECT_TIMEOUT", "seconds")
    redis_url: str = _setting(
        "redis://127.0.0.1:6379/0", "FLUXUS_REDIS_URL", "Redis for queues and rate limits",
        secret=True, production_required=True,
    )
    redis_private_network: bool = _setting(
        False, "FLUXUS_REDIS_PRIVATE_NETWORK",
        "`true` allows a Redis URL without a password in production (only where the network"
        " already keeps everyone else out of Redis)",
    )
    jwt_secret: str = _setting(
        DEV_JWT_SECRET, "FLUXUS_JWT_SECRET", "HMAC key for JWTs (≥ 32 characters in production)",
        secret=True, production_required=True,
    )
    jwt_access_minutes: int = _setting(15, "FLUXUS_JWT_ACCESS_MINUTES", "access-token lifetime")
    jwt_refresh_days: int = _setting(7, "FLUXUS_JWT_REFRESH_DAYS", "refresh-token lifetime")
    data_encryption_key: str = _setting(
        "", "FLUXUS_DATA_ENCRYPTION_KEY",
        "Fernet key encrypting payment data at rest (`fluxus keygen` prints one); during a"
        " rotation `NEW,OLD`: the first encrypts, every one decrypts (`fluxus keys rotate`)",
        secret=True, production_required=True,
    )
    ecpay_merchant_id: str = _setting(
        STAGE_MERCHANT_ID, "FLUXUS_ECPAY_MERCHANT_ID", "ECPay MerchantID", production_required=True
    )
    ecpay_hash_key: str = _setting(
        STAGE_HASH_KEY, "FLUXUS_ECPAY_HASH_KEY", "ECPay HashKey", secret=True,
        production_required=True,
    )
    ecpay_hash_iv: str = _setting(
        STAGE_HASH_IV, "FLUXUS_ECPAY_HASH_IV", "ECPay HashIV", secret=True,
        production_required=True,
    )
    ecpay_credit_check_code: str = _setting(
        SIM_CREDIT_CHECK_CODE, "FLUXUS_ECPAY_CREDIT_CHECK_CODE",
        "ECPay card check code (vendor dashboard: 信用卡收單 → 信用卡授權資訊); card refunds ask"
        " QueryTrade with it (worker only)", secret=True, production_required=True,
    )
    ecpay_gateway_url: str = _setting(
        STAGE_GATEWAY_URL, "FLUXUS_ECPAY_GATEWAY_URL",
        "ECPay payment host (stage, production or the simulator)",
    )
    ecpay_timeout_seconds: float = _setting(10.0, "FLUXUS_ECPAY_TIMEOUT", "HTTP timeout to ECPay")
    einvoice_enabled: bool = _setting(
        True, "FLUXUS_EINVOICE_ENABLED",
        "issue Taiwan e-invoices through ECPay (`false` when the merchant invoices elsewhere)",
    )
    einvoice_merchant_id: str = _setting(
        EINVOICE_STAGE_MERCHANT_ID, "FLUXUS_EINVOICE_MERCHANT_ID", "ECPay e-invoice MerchantID",
        production_required=True,
    )
    einvoice_hash_key: str = _setting(
        EINVOICE_STAGE_HASH_KEY, "FLUXUS_EINVOICE_HASH_KEY", "ECPay e-invoice HashKey",
        secret=True, production_required=True,
    )
    einvoice_hash_iv: str = _setting(
        EINVOICE_STAGE_HASH_IV, "FLUXUS_EINVOICE_HASH_IV", "ECPay e-invoice HashIV",
        secret=True, production_required=True,
    )
    einvoice_url: str = _setting(
        EINVOICE_STAGE_URL, "FLUXUS_EINVOICE_URL",
        "ECPay e-invoice host (stage, production or the simulator)",
    )
    public_payment_url: str = _setting(
        "http://127.0.0.1:8001", "FLUXUS_PUBLIC_PAYMENT_URL",
        "how ECPay reaches the payment service (ReturnURL base)",
    )
    api_url: str = _setting("http://127.0.0.1:8000", "FLUXUS_API_URL", "where the UI finds the API")
    dashboard_url: str = _setting(
        "http://127.0.0.1:5006", "FLUXUS_DASHBOARD_URL", "where customers return after paying"
    )
    cors_origins: tuple[str, ...] = _setting(
        (), "FLUXUS_CORS_ORIGINS", "comma-separated origins allowed by CORS"
    )
    trusted_proxies: int = _setting(0, "FLUXUS_TRUSTED_PROXIES", "proxy hops before the app")
    rate_limits: str = _setting(
        "60 per minute;1000 per hour", "FLUXUS_RATE_LIMITS", "per user, or per IP when anonymous"
    )
    auth_throttle: bool = _setting(
        True, "FLUXUS_AUTH_THROTTLE",
        "per-IP and per-account limits on log-in, refresh, registration and password reset"
        " (off only for load and fuzz tests; production refuses `false`)",
    )
    plan_list_cache_seconds: float = _setting(
        5.0, "FLUXUS_PLAN_LIST_CACHE_SECONDS",
        "how long each API process serves the public plan list from memory before reading it"
        " again (a Plan change shows within this; 0 reads on every request)",
    )
    max_body_bytes: int = _setting(65536, "FLUXUS_MAX_BODY_BYTES", "largest request body")
    smtp_host: str = _setting("127.0.0.1", "FLUXUS_SMTP_HOST", "SMTP server")
    smtp_port: int = _setting(25, "FLUXUS_SMTP_PORT", "SMTP port")
    smtp_tls: str = _setting("none", "FLUXUS_SMTP_TLS", "`none`, `starttls` or `ssl`")
    smtp_username: str = _setting("", "FLUXUS_SMTP_USERNAME", "SMTP user", secret=True)
    smtp_password: str = _setting("", "FLUXUS_SMTP_PASSWORD", "SMTP password", secret=True)
    mail_from: str = _setting(
        "Fluxus Billing <billing@fluxus.local>", "FLUXUS_MAIL_FROM", "sender of every e-mail"
    )
    invoice_dir: str = _setting("var/invoices", "FLUXUS_INVOICE_DIR", "where invoice PDFs go")
    seller_name: str = _setting("Fluxus Demo Ltd.", "FLUXUS_SELLER_NAME", "seller on invoices")
    seller_tax_id: str = _setting("00000000", "FLUXUS_SELLER_TAX_ID", "seller 統一編號")
    metrics_port: int = _setting(9100, "FLUXUS_METRICS_PORT", "port serving /metrics")
    operator_namespace: str = _setting(
        "", "FLUXUS_OPERATOR_NAMESPACE", "namespace the operator watches (empty: all)"
    )
    operator_image: str = _setting(
        "fluxus:latest", "FLUXUS_OPERATOR_IMAGE", "image of the renewal CronJobs"
    )
    operator_env_secret: str = _setting(
        "", "FLUXUS_OPERATOR_ENV_SECRET", "Secret whose keys the renewal CronJobs get as env"
    )
    operator_env_configmap: str = _setting(
        "", "FLUXUS_OPERATOR_ENV_CONFIGMAP", "ConfigMap whose keys the CronJobs get as env"
    )
    webhooks_allow_private: bool = _setting(
        False, "FLUXUS_WEBHOOKS_ALLOW_PRIVATE",
        "`true` lets webhook endpoints point at private, loopback and link-local addresses"
        " (local development only; refused targets are an SSRF guard)",
    )
    test_clocks: bool = _setting(
        False, "FLUXUS_TEST_CLOCKS",
        "`true` lets staff create test clocks and advance their customers' billing"
        " (refused with production ECPay keys or FLUXUS_ENV=production)",
    )
    component: str = _setting(
        "", "FLUXUS_COMPONENT",
        "the process (api, payment, worker, ...): production checks only the credentials it uses",
    )

    def __post_init__(self) -> None:
        # Managed databases and operators hand out plain postgresql:// or postgres:// URLs;
        # SQLAlchemy maps those to psycopg 3, which is not installed.
        object.__setattr__(self, "database_url", normalize_database_url(self.database_url))
        object.__setattr__(self, "database_replica_url",
                           normalize_database_url(self.database_replica_url))

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def fernet_key(self) -> bytes:
        """The data-encryption key; in development one derived from a fixed seed."""
        return self.fernet_keys[0]

    @property
    def fernet_keys(self) -> list[bytes]:
        """Every accepted data key, the current (encrypting) one first."""
        keys = [key.strip().encode() for key in self.data_encryption_key.split(",")
                if key.strip()]
        if keys:
            return keys
        digest = hashlib.sha256(DEV_DATA_KEY_SEED.encode()).digest()
        return [base64.urlsafe_b64encode(digest)]

    @property
    def invoice_path(self) -> Path:
        return Path(self.invoice_dir)

    def validate(self) -> Settings:
        """Refuse configurations that are unsafe or meaningless; return self."""
        problems: list[str] = []
        if self.env not in ("development", "production"):
            problems.append(f"FLUXUS_ENV must be development or production, not {self.env!r}")
        if self.smtp_tls not in ("none", "starttls", "ssl"):
            problems.append(f"FLUXUS_SMTP_TLS must be none, starttls or ssl, not {self.smtp_tls!r}")
        if not 0 <= self.plan_list_cache_seconds <= 300:
            problems.append("FLUXUS_PLAN_LIST_CACHE_SECONDS must be between 0 and 300 (a plan"
                            " change waits this long to show), not"
                            f" {self.plan_list_cache_seconds}")
        if self.test_clocks and (self.is_production
                                 or self.ecpay_merchant_id not in STAGE_MERCHANT_IDS):
            # Not filtered by component like the checks below: a clock advances real
            # billing, so no process may run one next to a real merchant.
            problems.append("FLUXUS_TEST_CLOCKS is for test deployments: refused with"
                            " FLUXUS_ENV=production or a MerchantID other than ECPay's stage")
        if self.is_production:
            # Every production problem starts with the variable it is about.
            unused = CREDENTIALS - COMPONENT_CREDENTIALS.get(self.component, CREDENTIALS)
            problems.extend(
                p for p in self._production_problems() if p.split(" ", 1)[0] not in unused
            )
        if problems:
            raise ConfigurationError("Invalid configuration: " + "; ".join(problems))
        return self

    def _production_problems(self) -> list[str]:
        problems = []
        if self.jwt_secret == DEV_JWT_SECRET or len(self.jwt_secret) < 32:
            problems.append(
                "FLUXUS_JWT_SECRET must be set to a random value of at least 32 characters"
            )
        if not self.data_encryption_key:
            problems.append("FLUXUS_DATA_ENCRYPTION_KEY must be set (run `fluxus keygen`)")
        if not self.auth_throttle:
            problems.append("FLUXUS_AUTH_THROTTLE=false is for tests; production keeps the"
                            " brute-force limits on")
        if self.database_url.startswith("sqlite"):
            problems.append("FLUXUS_DATABASE_URL must point at PostgreSQL")
        elif _url_password(self.database_url) == SAMPLE_DATABASE_PASSWORD:
            problems.append("FLUXUS_DATABASE_URL uses the chart's sample password; set a real one")
        if self.database_replica_url.startswith("sqlite"):
            problems.append("FLUXUS_DATABASE_REPLICA_URL must point at PostgreSQL (or be unset)")
        if not _url_password(self.redis_url) and not self.redis_private_network:
            problems.append("FLUXUS_REDIS_URL has no password (set one, or"
                            " FLUXUS_REDIS_PRIVATE_NETWORK=true if only Fluxus can reach Redis)")
        for name in ("ecpay_merchant_id", "ecpay_hash_key", "ecpay_hash_iv"):
            env = env_name(name)
            if not getattr(self, name):
                problems.append(f"{env} must be set")
            elif getattr(self, name) in (STAGE_MERCHANT_ID, STAGE_HASH_KEY, STAGE_HASH_IV):
                problems.append(f"{env} is ECPay's public stage value; set the production one")
        # Card refunds run in the worker; the component filter above drops this elsewhere.
        if self.ecpay_credit_check_code in ("", SIM_CREDIT_CHECK_CODE):
            problems.append("FLUXUS_ECPAY_CREDIT_CHECK_CODE must be set to the merchant's card"
                            " check code (card refunds cannot ask ECPay without it)")
        if self.einvoice_enabled:
            stage = (EINVOICE_STAGE_MERCHANT_ID, EINVOICE_STAGE_HASH_KEY, EINVOICE_STAGE_HASH_IV)
            for name in ("einvoice_merchant_id", "einvoice_hash_key", "einvoice_hash_iv"):
                if getattr(self, name) in stage:
                    problems.append(
                        f"{env_name(name)} is ECPay's public stage e-invoice value; set the"
                        " production one (or FLUXUS_EINVOICE_ENABLED=false)"
                    )
        return problems

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``environ`` (default ``os.environ``) and validate them."""
        source = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = source.get(f.metadata["env"])
            if raw is not None:
                values[f.name] = _parse(f, raw)
        return cls(**values).validate()


def normalize_database_url(url: str) -> str:
    """`postgresql://` and `postgres://` as the installed driver's URL (psycopg2)."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg2://" + url.removeprefix(scheme)
    return url


def _url_password(url: str) -> str:
    """The password in a database or Redis URL ('' if none or unparseable)."""
    try:
        return urlsplit(url).password or ""
    except ValueError:
        return ""


def _parse(f: dataclasses.Field[Any], raw: str) -> Any:
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    try:
        if kind == "bool":
            return _parse_bool(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(Decimal(raw))
        if kind.startswith("tuple"):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise ConfigurationError(f"{f.metadata['env']}={raw!r} is not a valid {kind}") from exc
    return raw.strip()


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{raw!r} is not a boolean")


def env_name(field_name: str) -> str:
    return next(f.metadata["env"] for f in dataclasses.fields(Settings) if f.name == field_name)


def env_var_names() -> list[str]:
    """Every environment variable Fluxus reads (the chart must provide each one)."""
    return [f.metadata["env"] for f in dataclasses.fields(Settings)]


def describe() -> list[dict[str, Any]]:
    """Rows for the README's configuration reference."""
    return [
        {
            "env": f.metadata["env"],
            "default": f.default,
            "secret": f.metadata["secret"],
            "production_required": f.metadata["production_required"],
            "doc": f.metadata["doc"],
        }
        for f in dataclasses.fields(Settings)
    ]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings.from_env()


def configured_env() -> str:
    """FLUXUS_ENV as set, before any validation (launchers refuse production early); unset
    means production, as in Settings."""
    return os.environ.get("FLUXUS_ENV", "production")


def is_set(name: str) -> bool:
    """Whether the environment sets `name` (so a launcher keeps it rather than its default)."""
    return name in os.environ


def child_environment(overrides: Mapping[str, str]) -> dict[str, str]:
    """This process's environment with `overrides`, for the processes a launcher starts."""
    return {**os.environ, **overrides}
