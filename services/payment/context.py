"""What a payment view needs besides the request: settings, clock, ECPay credentials."""

from __future__ import annotations

from flask import current_app

from services.core.clock import Clock
from services.core.config import Settings
from services.ecpay.credentials import EcpayCredentials, credentials_from_settings
from services.web.uow import app_settings

CLOCK_EXTENSION = "fluxus_payment_clock"


def settings() -> Settings:
    return app_settings()


def clock() -> Clock:
    value: Clock = current_app.extensions[CLOCK_EXTENSION]
    return value


def credentials() -> EcpayCredentials:
    return credentials_from_settings(app_settings())
