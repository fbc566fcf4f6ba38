"""The JSON envelope around every B2C e-invoice call: MerchantID, header, AES `Data`.

Request  ``{"MerchantID", "RqHeader": {"Timestamp", "Revision"}, "Data"}``;
response ``{"MerchantID", "RpHeader": {"Timestamp"}, "TransCode", "TransMsg", "Data"}``.
Checking is two-level: TransCode 1 means the envelope was accepted, then the decrypted
``RtnCode`` says whether the business call succeeded (REFERENCE §10.1). Both the client and
the simulator use these functions, each for its side.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.ecpay.aes import DataDecryptError, decrypt_data, encrypt_data
from services.ecpay.einvoice.codes import as_int, classify
from services.ecpay.einvoice.errors import EInvoiceRefused

REVISION = "3.0.0"
TRANS_OK = 1


@dataclass(frozen=True)
class Keys:
    merchant_id: str
    hash_key: str
    hash_iv: str


def seal_request(keys: Keys, data: Mapping[str, Any], timestamp: int) -> dict[str, Any]:
    """The request body for ``data`` (MerchantID is put inside Data as ECPay wants)."""
    inner = {"MerchantID": keys.merchant_id, **data}
    return {
        "MerchantID": keys.merchant_id,
        "RqHeader": {"Timestamp": timestamp, "Revision": REVISION},
        "Data": encrypt_data(inner, keys.hash_key, keys.hash_iv),
    }


def seal_response(
    keys: Keys,
    data: Mapping[str, Any] | None,
    timestamp: int,
    *,
    trans_code: int = TRANS_OK,
    trans_msg: str = "",
) -> dict[str, Any]:
    """A response body; ``data`` None (a refused envelope) leaves Data empty."""
    return {
        "MerchantID": keys.merchant_id,
        "RpHeader": {"Timestamp": timestamp},
        "TransCode": trans_code,
        "TransMsg": trans_msg or ("Success" if trans_code == TRANS_OK else ""),
        "Data": encrypt_data(dict(data), keys.hash_key, keys.hash_iv) if data is not None else "",
    }


def open_data(data: object, keys: Keys) -> dict[str, Any]:
    """Decrypt a `Data` value that must hold a JSON object (DataDecryptError otherwise)."""
    if not isinstance(data, str) or not data:
        raise DataDecryptError("Data is missing")
    opened = decrypt_data(data, keys.hash_key, keys.hash_iv)
    if not isinstance(opened, dict):
        raise DataDecryptError("Data is not a JSON object")
    return opened


def open_response(body: object, keys: Keys) -> dict[str, Any]:
    """The decrypted Data of a successful answer; otherwise the classified error is raised."""
    if not isinstance(body, dict):
        raise EInvoiceRefused(0, "ECPay answered something that is not a JSON object")
    try:
        trans_code = as_int(body.get("TransCode"))
    except ValueError:
        raise EInvoiceRefused(0, f"ECPay answered without a TransCode: {body!r}") from None
    trans_msg = str(body.get("TransMsg") or "")
    if trans_code != TRANS_OK:
        error = classify(trans_code, trans_msg)
        raise error or EInvoiceRefused(trans_code, trans_msg)
    try:
        data = open_data(body.get("Data"), keys)
    except DataDecryptError as exc:
        # Our keys do not open ECPay's answer: a configuration error, not a passing outage.
        raise EInvoiceRefused(0, f"answer Data cannot be opened: {exc}") from exc
    try:
        rtn_code = as_int(data.get("RtnCode"))
    except ValueError:
        raise EInvoiceRefused(0, f"answer Data without RtnCode: {data!r}") from None
    error = classify(rtn_code, str(data.get("RtnMsg") or ""))
    if error is not None:
        raise error
    return data
