"""Merchant credentials for one ECPay account, built from Fluxus settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.core.config import (
    STAGE_GATEWAY_URL,
    STAGE_HASH_IV,
    STAGE_HASH_KEY,
    STAGE_MERCHANT_ID,
    Settings,
)

CHECKOUT_PATH = "/Cashier/AioCheckOut/V5"
QUERY_TRADE_PATH = "/Cashier/QueryTradeInfo/V5"
QUERY_PERIOD_PATH = "/Cashier/QueryCreditCardPeriodInfo"
PERIOD_ACTION_PATH = "/Cashier/CreditCardPeriodAction"


@dataclass(frozen=True)
class EcpayCredentials:
    """MerchantID, HashKey/HashIV and the payment host (stage, production or simulator)."""

    merchant_id: str
    hash_key: str = field(repr=False)
    hash_iv: str = field(repr=False)
    gateway_url: str = STAGE_GATEWAY_URL

    def __post_init__(self) -> None:
        # A trailing slash would produce "//Cashier/..." which ECPay answers with 404.
        object.__setattr__(self, "gateway_url", self.gateway_url.rstrip("/"))

    @classmethod
    def from_settings(cls, settings: Settings) -> EcpayCredentials:
        return cls(
            merchant_id=settings.ecpay_merchant_id,
            hash_key=settings.ecpay_hash_key,
            hash_iv=settings.ecpay_hash_iv,
            gateway_url=settings.ecpay_gateway_url,
        )

    @classmethod
    def stage(cls, gateway_url: str = STAGE_GATEWAY_URL) -> EcpayCredentials:
        """ECPay's public stage account (also the simulator's default)."""
        return cls(STAGE_MERCHANT_ID, STAGE_HASH_KEY, STAGE_HASH_IV, gateway_url)

    def url(self, path: str) -> str:
        return self.gateway_url + path

    @property
    def checkout_url(self) -> str:
        return self.url(CHECKOUT_PATH)


def credentials_from_settings(settings: Settings) -> EcpayCredentials:
    """The helper the payment service and worker use."""
    return EcpayCredentials.from_settings(settings)
