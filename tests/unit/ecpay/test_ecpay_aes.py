"""E-invoice AES-128-CBC of `Data`: ECPay's vectors both ways, and corrupt input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.ecpay.aes import (
    DataDecryptError,
    decrypt_data,
    decrypt_text,
    encrypt_data,
    encrypt_text,
    php_json,
)
from services.ecpay.checkmac import php_urlencode

pytestmark = pytest.mark.unit


def test_url_encoding_and_ciphertext_of_the_serialized_json_match(
    aes_vector: dict[str, Any],
) -> None:
    vector = aes_vector
    assert php_urlencode(vector["plaintext_json"]) == vector["url_encoded"]
    got = encrypt_text(vector["plaintext_json"], vector["hash_key"], vector["hash_iv"])
    assert got == vector["ciphertext_b64"]


def test_ciphertext_decrypts_to_the_same_data(aes_vector: dict[str, Any]) -> None:
    vector = aes_vector
    data = decrypt_data(vector["ciphertext_b64"], vector["hash_key"], vector["hash_iv"])
    assert data == json.loads(vector["plaintext_json"])


def test_encrypt_data_round_trips(aes_vector: dict[str, Any]) -> None:
    vector = aes_vector
    data = json.loads(vector["plaintext_json"])
    encrypted = encrypt_data(data, vector["hash_key"], vector["hash_iv"])
    assert decrypt_data(encrypted, vector["hash_key"], vector["hash_iv"]) == data


def test_php_style_serializer_reproduces_the_sdk_ciphertext(
    all_aes_vectors: list[dict[str, Any]],
) -> None:
    vector = next(v for v in all_aes_vectors if v["id"] == "inv-issue-carrier-ecpay")
    assert php_json(json.loads(vector["plaintext_json"])) == vector["plaintext_json"]
    encrypted = encrypt_data(
        json.loads(vector["plaintext_json"]), vector["hash_key"], vector["hash_iv"]
    )
    assert encrypted == vector["ciphertext_b64"]


@pytest.mark.parametrize("garbage", ["not base64!", "AAAA", "uvI4yrErM37XNQkXGAgRgA=="])
def test_corrupt_data_raises_a_decrypt_error(garbage: str) -> None:
    with pytest.raises(DataDecryptError):
        decrypt_text(garbage, "ejCk326UnaZWKisg", "q9jcZX8Ib9LM8wYk")


def test_wrong_key_does_not_yield_the_data(all_aes_vectors: list[dict[str, Any]]) -> None:
    vector = all_aes_vectors[0]
    with pytest.raises(DataDecryptError):
        decrypt_data(vector["ciphertext_b64"], "x" * 16, vector["hash_iv"])


def test_key_and_iv_must_be_16_characters() -> None:
    with pytest.raises(ValueError, match="16"):
        encrypt_text("{}", "short", "q9jcZX8Ib9LM8wYk")
