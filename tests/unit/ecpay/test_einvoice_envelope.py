"""E-invoice envelope: ECPay's AES vectors through open_data, sealing, and the two-level check."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.ecpay.aes import DataDecryptError, decrypt_data, encrypt_data
from services.ecpay.einvoice import (
    EInvoiceDuplicate,
    EInvoiceRefused,
    EInvoiceTransient,
)
from services.ecpay.einvoice.envelope import (
    REVISION,
    Keys,
    open_data,
    open_response,
    seal_request,
    seal_response,
)

pytestmark = pytest.mark.unit

STAGE = Keys("2000132", "ejCk326UnaZWKisg", "q9jcZX8Ib9LM8wYk")


def test_each_vector_decrypts_to_its_data(aes_vector: dict[str, Any]) -> None:
    # REFERENCE §12: compare decrypted data, not ciphertext (serializers may differ).
    keys = Keys("2000132", aes_vector["hash_key"], aes_vector["hash_iv"])
    assert open_data(aes_vector["ciphertext_b64"], keys) == json.loads(aes_vector["plaintext_json"])


def test_a_request_carries_merchant_revision_timestamp_and_encrypted_data() -> None:
    body = seal_request(STAGE, {"RelateNumber": "FX1", "SalesAmount": 990}, 1_765_000_000)
    assert body["MerchantID"] == "2000132"
    assert body["RqHeader"] == {"Timestamp": 1_765_000_000, "Revision": REVISION}
    assert REVISION == "3.0.0"
    assert decrypt_data(body["Data"], STAGE.hash_key, STAGE.hash_iv) == {
        "MerchantID": "2000132",
        "RelateNumber": "FX1",
        "SalesAmount": 990,
    }


def test_a_successful_answer_opens_to_its_data() -> None:
    body = seal_response(STAGE, {"RtnCode": 1, "RtnMsg": "成功", "InvoiceNo": "AB12345678"}, 1)
    assert open_response(body, STAGE)["InvoiceNo"] == "AB12345678"


def test_rtn_code_as_a_string_is_understood() -> None:
    body = seal_response(STAGE, {"RtnCode": "1", "RtnMsg": "成功"}, 1)
    assert open_response(body, STAGE)["RtnMsg"] == "成功"


def test_a_refused_envelope_raises_from_trans_msg_without_opening_data() -> None:
    body = seal_response(STAGE, None, 1, trans_code=0, trans_msg="資料解密錯誤")
    with pytest.raises(EInvoiceRefused) as caught:
        open_response(body, STAGE)
    assert caught.value.message == "資料解密錯誤"
    assert caught.value.code == 0


def test_a_busy_envelope_is_transient() -> None:
    body = seal_response(STAGE, None, 1, trans_code=999, trans_msg="系統忙碌中")
    with pytest.raises(EInvoiceTransient):
        open_response(body, STAGE)


def test_the_business_code_inside_data_is_the_second_check() -> None:
    body = seal_response(STAGE, {"RtnCode": 0, "RtnMsg": "自訂編號不可重複"}, 1)
    with pytest.raises(EInvoiceDuplicate) as caught:
        open_response(body, STAGE)
    assert caught.value.code == 0


def test_an_answer_our_keys_cannot_open_is_refused() -> None:
    other = Keys("2000132", "x" * 16, STAGE.hash_iv)
    body = seal_response(other, {"RtnCode": 1, "RtnMsg": "成功"}, 1)
    with pytest.raises(EInvoiceRefused, match="cannot be opened"):
        open_response(body, STAGE)


@pytest.mark.parametrize(
    "body",
    [[], {"RpHeader": {}}, {"TransCode": "yes"}, {"TransCode": 1, "Data": ""}],
    ids=["not-an-object", "no-transcode", "odd-transcode", "empty-data"],
)
def test_malformed_answers_are_refused(body: object) -> None:
    with pytest.raises(EInvoiceRefused):
        open_response(body, STAGE)


def test_data_that_is_not_a_json_object_is_a_decrypt_error() -> None:
    with pytest.raises(DataDecryptError):
        open_data(encrypt_data([1, 2], STAGE.hash_key, STAGE.hash_iv), STAGE)
