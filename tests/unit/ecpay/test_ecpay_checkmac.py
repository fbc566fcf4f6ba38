"""CheckMacValue: ECPay's official vectors, encoding edge cases, verification."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.ecpay.checkmac import (
    check_mac_value,
    dotnet_urlencode,
    php_urlencode,
    sign,
    signing_string,
    verify_check_mac_value,
)

pytestmark = pytest.mark.unit

KEY, IV = "pwFHCqoQZGmho4w6", "EkRm7iFT261dpevs"


def test_official_vector_reproduces(checkmac_vector: dict[str, Any]) -> None:
    vector = checkmac_vector
    got = check_mac_value(
        vector["params"], vector["hash_key"], vector["hash_iv"], vector["encrypt_type"]
    )
    assert got == vector["check_mac_value"]


def test_official_vector_verifies_and_tampering_is_rejected(
    checkmac_vector: dict[str, Any],
) -> None:
    vector = checkmac_vector
    signed = dict(vector["params"], CheckMacValue=vector["check_mac_value"])
    key, iv, kind = vector["hash_key"], vector["hash_iv"], vector["encrypt_type"]
    assert verify_check_mac_value(signed, key, iv, kind)
    name = sorted(vector["params"])[0]
    assert not verify_check_mac_value(dict(signed, **{name: signed[name] + "x"}), key, iv, kind)
    assert not verify_check_mac_value(dict(signed, Injected="1"), key, iv, kind)


def test_vectors_cover_both_digests(all_checkmac_vectors: list[dict[str, Any]]) -> None:
    assert {v["encrypt_type"] for v in all_checkmac_vectors} == {0, 1}
    assert {len(v["check_mac_value"]) for v in all_checkmac_vectors} == {32, 64}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" ", "+"),
        ("~", "%7e"),  # quote_plus would leave it raw and break the hash
        ("'", "%27"),
        ("!*()-_.", "!*()-_."),
        ("+", "%2b"),
        ("a&b=c", "a%26b%3dc"),
        ("/:?", "%2f%3a%3f"),
        ('"\\%', "%22%5c%25"),
        ("促", "%e4%bf%83"),
        ("🎉", "%f0%9f%8e%89"),
        ("Ａ", "%ef%bc%a1"),  # full-width letters are not lowercased
        ("\n\t", "%0a%09"),
        ("%21", "%2521"),  # an escape-looking text is encoded, not unescaped
        ("@#$^`[]{}|;,<>", "%40%23%24%5e%60%5b%5d%7b%7d%7c%3b%2c%3c%3e"),
        ("ABCxyz019", "abcxyz019"),
    ],
)
def test_dotnet_urlencode_follows_ecpay_table(text: str, expected: str) -> None:
    assert dotnet_urlencode(text) == expected


def test_php_urlencode_keeps_uppercase_hex_and_escapes_specials() -> None:
    assert php_urlencode("a b~*!'()") == "a+b%7E%2A%21%27%28%29"


def test_names_sort_case_insensitively_by_ascii_bytes() -> None:
    text = signing_string({"Key_1": "", "abc": "", "KeyA": "", "ABD": "", "Key1": ""}, "K", "V")
    assert text == "hashkey%3dk%26abc%3d%26abd%3d%26key1%3d%26key_1%3d%26keya%3d%26hashiv%3dv"


def test_empty_value_takes_part_but_absent_does_not() -> None:
    base = {"MerchantID": "3002607", "TotalAmount": "100"}
    assert check_mac_value(base | {"Remark": ""}, KEY, IV) != check_mac_value(base, KEY, IV)


def test_check_mac_value_field_is_ignored_when_computing() -> None:
    params = {"A": "1", "B": "2"}
    assert check_mac_value(params | {"CheckMacValue": "junk"}, KEY, IV) == check_mac_value(
        params, KEY, IV
    )


def test_sign_adds_a_verifiable_mac_and_int_values_become_text() -> None:
    signed = sign({"TotalAmount": 100, "ItemName": "書"}, KEY, IV)
    assert signed["TotalAmount"] == "100"
    assert verify_check_mac_value(signed, KEY, IV)
    assert not verify_check_mac_value(signed, KEY, "WrongIv123456789")


def test_md5_mac_does_not_verify_as_sha256() -> None:
    signed = sign({"A": "1"}, KEY, IV, encrypt_type=0)
    assert len(signed["CheckMacValue"]) == 32
    assert verify_check_mac_value(signed, KEY, IV, 0)
    assert not verify_check_mac_value(signed, KEY, IV, 1)


@pytest.mark.parametrize("forged", ["", "0" * 64, None, 123])
def test_missing_or_forged_mac_is_rejected(forged: object) -> None:
    params: dict[str, object] = {"A": "1"}
    if forged is not None:
        params["CheckMacValue"] = forged
    assert not verify_check_mac_value(params, KEY, IV)


def test_lowercase_hex_mac_is_accepted() -> None:
    signed = sign({"A": "1"}, KEY, IV)
    assert verify_check_mac_value(
        signed | {"CheckMacValue": signed["CheckMacValue"].lower()}, KEY, IV
    )


def test_unknown_encrypt_type_and_non_text_values_are_refused() -> None:
    with pytest.raises(ValueError, match="EncryptType"):
        check_mac_value({"A": "1"}, KEY, IV, 2)
    with pytest.raises(TypeError):
        check_mac_value({"A": 1.5}, KEY, IV)


def _reference_mac(params: dict[str, str], key: str, iv: str) -> str:
    """An independent reading of REFERENCE §1.1 built on the stdlib, for property tests."""
    import hashlib
    from urllib.parse import quote_plus

    ordered = sorted(params.items(), key=lambda kv: kv[0].encode().lower())
    raw = f"HashKey={key}&" + "&".join(f"{k}={v}" for k, v in ordered) + f"&HashIV={iv}"
    encoded = quote_plus(raw, safe="").replace("~", "%7E").lower()
    for escape, char in (("%21", "!"), ("%2a", "*"), ("%28", "("), ("%29", ")")):
        encoded = encoded.replace(escape, char)
    return hashlib.sha256(encoded.encode()).hexdigest().upper()


_names = st.text(alphabet="ABCabc_019", min_size=1, max_size=6)
# Surrogates cannot be UTF-8 encoded, so no real form value contains one.
_values = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(_names, _values, min_size=1, max_size=5).filter(
        lambda d: len({k.lower() for k in d}) == len(d)
    )
)
def test_matches_an_independent_reading_of_the_algorithm(params: dict[str, str]) -> None:
    assert check_mac_value(params, KEY, IV) == _reference_mac(params, KEY, IV)
