"""The simulator's e-invoice envelope, spoken to directly: what a client other than ours could
send wrong (no Revision, no JSON, missing fields) is refused the way the README says."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from services.ecpay.aes import decrypt_data
from services.ecpay.einvoice.envelope import Keys, seal_request
from tests.integration.ecpay_sim.einvoice_support import STAGE, simulator_process

pytestmark = pytest.mark.integration

KEYS = Keys(*STAGE)
VALID_ISSUE: dict[str, Any] = {
    "RelateNumber": "WIRE0001",
    "CustomerEmail": "buyer@example.com",
    "Print": "0",
    "Donation": "0",
    "CarrierType": "1",
    "TaxType": "1",
    "SalesAmount": 990,
    "Items": [
        {
            "ItemName": "Fluxus",
            "ItemCount": 1,
            "ItemWord": "月",
            "ItemPrice": 990,
            "ItemTaxType": "1",
            "ItemAmount": 990,
        }
    ],
    "InvType": "07",
}


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with simulator_process(tmp_path_factory.mktemp("einvoice-wire")) as url:
        yield url


def _post(sim: str, body: Any, endpoint: str = "Issue") -> dict[str, Any]:
    response = httpx.post(f"{sim}/B2CInvoice/{endpoint}", json=body, timeout=10)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _data(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer["TransCode"] == 1, answer
    data: dict[str, Any] = decrypt_data(answer["Data"], KEYS.hash_key, KEYS.hash_iv)
    return data


def test_a_request_without_revision_is_refused_at_the_envelope(sim: str) -> None:
    body = seal_request(KEYS, VALID_ISSUE, int(time.time()))
    del body["RqHeader"]["Revision"]
    answer = _post(sim, body)
    assert answer["TransCode"] != 1
    assert "Revision" in answer["TransMsg"]
    assert answer["Data"] == ""


def test_a_form_post_is_not_the_json_api(sim: str) -> None:
    body = seal_request(KEYS, VALID_ISSUE, int(time.time()))
    response = httpx.post(f"{sim}/B2CInvoice/Issue", data={"Data": body["Data"]}, timeout=10)
    assert response.json()["TransCode"] != 1


def test_data_naming_another_merchant_is_refused(sim: str) -> None:
    body = seal_request(KEYS, {**VALID_ISSUE, "MerchantID": "2000933"}, int(time.time()))
    assert _post(sim, body)["TransCode"] != 1


@pytest.mark.parametrize("field", ["RelateNumber", "Print", "Donation", "TaxType", "Items"])
def test_a_missing_required_field_answers_10000002(sim: str, field: str) -> None:
    data = {k: v for k, v in VALID_ISSUE.items() if k != field}
    answer = _data(_post(sim, seal_request(KEYS, data, int(time.time()))))
    assert answer["RtnCode"] == 10000002
    assert field in answer["RtnMsg"]


def test_the_answer_carries_invoice_date_in_the_url_encoded_form(sim: str) -> None:
    data = {**VALID_ISSUE, "RelateNumber": "WIRE0002"}
    answer = _data(_post(sim, seal_request(KEYS, data, int(time.time()))))
    assert answer["RtnCode"] == 1
    assert "+" in answer["InvoiceDate"] and " " not in answer["InvoiceDate"]


def test_an_unknown_endpoint_is_404(sim: str) -> None:
    body = seal_request(KEYS, {}, int(time.time()))
    assert httpx.post(f"{sim}/B2CInvoice/VoidWithReIssue", json=body).status_code == 404
