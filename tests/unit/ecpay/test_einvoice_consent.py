"""AllowanceByCollegiate's ReturnURL post: ECPay's MD5 CheckMacValue decides what is believed."""

from __future__ import annotations

from typing import Any

import pytest

from services.ecpay.checkmac import EncryptType, sign
from services.ecpay.einvoice import (
    ConsentSignatureInvalid,
    EInvoiceRefused,
    verify_allowance_consent,
)

pytestmark = pytest.mark.unit

KEY, IV = "ejCk326UnaZWKisg", "q9jcZX8Ib9LM8wYk"


@pytest.fixture
def documented_post(all_checkmac_vectors: list[dict[str, Any]]) -> dict[str, str]:
    """ECPay's own example post (doc 38242) with its published MD5 CheckMacValue."""
    vector = next(
        v for v in all_checkmac_vectors if v["id"] == "pub-doc38242-invoice-allowance-md5"
    )
    return {**vector["params"], "CheckMacValue": vector["check_mac_value"]}


def test_the_documented_post_verifies_and_names_the_allowance(
    documented_post: dict[str, str],
) -> None:
    consent = verify_allowance_consent(documented_post, KEY, IV, merchant_id="2000132")
    assert consent.allowance_no == "1909181313013546"
    assert consent.invoice_no == "UV11100019"
    assert consent.remaining_amount == 0
    assert consent.allowance_date is not None
    assert consent.allowance_date.isoformat() == "2019-09-18T13:13:23+08:00"


def test_an_altered_post_is_refused(documented_post: dict[str, str]) -> None:
    documented_post["IA_Allow_No"] = "1909181313013547"
    with pytest.raises(ConsentSignatureInvalid):
        verify_allowance_consent(documented_post, KEY, IV)


def test_a_sha256_signature_is_not_the_consent_signature(documented_post: dict[str, str]) -> None:
    resigned = sign(
        {k: v for k, v in documented_post.items() if k != "CheckMacValue"},
        KEY,
        IV,
        EncryptType.SHA256,
    )
    with pytest.raises(ConsentSignatureInvalid):
        verify_allowance_consent(resigned, KEY, IV)


def test_another_merchants_post_is_refused(documented_post: dict[str, str]) -> None:
    fields = {k: v for k, v in documented_post.items() if k != "CheckMacValue"}
    signed = sign({**fields, "MerchantID": "3002607"}, KEY, IV, EncryptType.MD5)
    with pytest.raises(ConsentSignatureInvalid, match="another merchant"):
        verify_allowance_consent(signed, KEY, IV, merchant_id="2000132")


def test_a_genuine_post_reporting_failure_is_no_consent(documented_post: dict[str, str]) -> None:
    fields = {k: v for k, v in documented_post.items() if k != "CheckMacValue"}
    signed = sign({**fields, "RtnCode": "0", "RtnMsg": "失敗"}, KEY, IV, EncryptType.MD5)
    with pytest.raises(EInvoiceRefused, match="失敗"):
        verify_allowance_consent(signed, KEY, IV)
