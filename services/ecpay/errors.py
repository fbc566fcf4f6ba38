"""ECPay-specific failures, placed in the Fluxus error hierarchy."""

from __future__ import annotations

from services.core.errors import FluxusError, ServiceUnavailable


class EcpayUnavailable(ServiceUnavailable):
    """ECPay could not be reached or kept failing; try again later."""

    code = "ecpay_unavailable"


class EcpayResponseError(FluxusError):
    """ECPay answered something unusable: an error code, bad signature or bad format."""

    code = "ecpay_bad_response"
    status = 502
