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


class EcpayRefused(EcpayResponseError):
    """ECPay understood the request and said no: ``rtn_code``/``rtn_msg`` are its answer."""

    code = "ecpay_refused"

    def __init__(self, message: str, *, rtn_code: int, rtn_msg: str) -> None:
        super().__init__(message, errors={"RtnCode": rtn_code, "RtnMsg": rtn_msg})
        self.rtn_code = rtn_code
        self.rtn_msg = rtn_msg
