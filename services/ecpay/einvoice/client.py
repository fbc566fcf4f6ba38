"""EInvoiceClient: ECPay's B2C e-invoice API (Revision 3.0.0) over HTTP, one method a call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import httpx

from services.ecpay.einvoice import wire
from services.ecpay.einvoice.envelope import Keys, open_response, seal_request
from services.ecpay.einvoice.errors import (
    TOO_FAST_RETRY_AFTER,
    EInvoiceAlreadyVoided,
    EInvoiceRefused,
    EInvoiceTransient,
)
from services.ecpay.einvoice.models import (
    AllowanceResult,
    InvoiceItem,
    InvoiceRecord,
    IssuedInvoice,
    IssueRequest,
    PendingAllowance,
    format_invoice_date,
)

PREFIX = "/B2CInvoice/"


class EInvoiceClient:
    """Each method is one ECPay call; failures raise the classes of ``errors``.

    ``now`` supplies RqHeader.Timestamp, which ECPay refuses when more than 10 minutes off.
    """

    def __init__(
        self,
        base_url: str,
        merchant_id: str,
        hash_key: str,
        hash_iv: str,
        *,
        now: Callable[[], datetime],
        http: httpx.Client | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._keys = Keys(merchant_id, hash_key, hash_iv)
        self._now = now
        self._owns_http = http is None
        self._http = http or httpx.Client()
        self._timeout = timeout

    def close(self) -> None:
        """Close the HTTP client if this object made it (a passed-in one is the caller's)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> EInvoiceClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the calls ------------------------------------------------------------------------
    def issue(self, request: IssueRequest) -> IssuedInvoice:
        return wire.issued_invoice(self._call("Issue", wire.issue_data(request)))

    def get_issue(self, relate_number: str) -> InvoiceRecord:
        """Raises EInvoiceNotFound when ECPay holds no invoice for the RelateNumber."""
        return wire.invoice_record(self._call("GetIssue", {"RelateNumber": relate_number}))

    def invalid(self, invoice_no: str, invoice_date: date, reason: str) -> None:
        """Void an invoice; one voided before counts as done (a retry after a lost answer)."""
        data = {
            "InvoiceNo": invoice_no,
            "InvoiceDate": format_invoice_date(invoice_date),
            "Reason": reason,
        }
        try:
            self._call("Invalid", data)
        except EInvoiceAlreadyVoided:
            return

    def allowance(
        self,
        invoice_no: str,
        invoice_date: date,
        amount: int,
        items: Sequence[InvoiceItem],
        reason: str,
        *,
        customer_name: str,
        notify_email: str,
    ) -> AllowanceResult:
        """A paper-consent allowance (折讓): the merchant holds the buyer's signed slip."""
        data = wire.allowance_data(
            invoice_no, invoice_date, amount, items, reason, customer_name, notify_email
        )
        return wire.allowance_result(self._call("Allowance", data))

    def allowance_by_collegiate(
        self,
        invoice_no: str,
        invoice_date: date,
        amount: int,
        items: Sequence[InvoiceItem],
        reason: str,
        *,
        customer_name: str,
        notify_email: str,
        return_url: str,
    ) -> PendingAllowance:
        """An online allowance: it exists only once the buyer consents (ReturnURL post)."""
        data = wire.allowance_data(
            invoice_no, invoice_date, amount, items, reason, customer_name, notify_email
        )
        data["ReturnURL"] = return_url
        return wire.pending_allowance(self._call("AllowanceByCollegiate", data))

    def allowance_invalid(self, invoice_no: str, allowance_no: str, reason: str) -> None:
        """Void an allowance; one voided before counts as done."""
        data = {"InvoiceNo": invoice_no, "AllowanceNo": allowance_no, "Reason": reason}
        try:
            self._call("AllowanceInvalid", data)
        except EInvoiceAlreadyVoided:
            return

    def check_barcode(self, barcode: str) -> bool:
        """Is the mobile barcode registered at the MOF? EInvoiceTransient when it is down."""
        return wire.is_exist(self._call("CheckBarcode", {"BarCode": barcode}))

    def check_love_code(self, love_code: str) -> bool:
        return wire.is_exist(self._call("CheckLoveCode", {"LoveCode": love_code}))

    # -- transport ------------------------------------------------------------------------
    def _call(self, endpoint: str, data: dict[str, Any]) -> dict[str, Any]:
        body = seal_request(self._keys, data, int(self._now().timestamp()))
        try:
            response = self._http.post(
                self._base_url + PREFIX + endpoint, json=body, timeout=self._timeout
            )
        except httpx.HTTPError as exc:
            # The call may or may not have reached ECPay: callers retry, and Issue's retry
            # recovers through "duplicate RelateNumber".
            raise EInvoiceTransient(0, f"{endpoint}: {type(exc).__name__}: {exc}") from exc
        _raise_for_http(endpoint, response)
        try:
            answer = response.json()
        except ValueError as exc:
            raise EInvoiceTransient(
                response.status_code, f"{endpoint}: answer is not JSON: {response.text[:200]}"
            ) from exc
        return open_response(answer, self._keys)


def _raise_for_http(endpoint: str, response: httpx.Response) -> None:
    status = response.status_code
    if status == 200:
        return
    text = f"{endpoint}: HTTP {status} {response.text[:200]}".strip()
    if status == 403:
        # ECPay's "calling too fast": it wants a 30-minute pause (RESEARCH §1.2).
        raise EInvoiceTransient(status, text, retry_after=TOO_FAST_RETRY_AFTER)
    if status >= 500 or status == 429:
        raise EInvoiceTransient(status, text, retry_after=_retry_after(response))
    raise EInvoiceRefused(status, text)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None
