"""The simulated e-invoice service: the envelope checks and one handler per endpoint."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import httpx

from services.ecpay.aes import DataDecryptError
from services.ecpay.checkmac import EncryptType, sign
from services.ecpay.einvoice.envelope import REVISION, Keys, open_data
from services.ecpay.simulator.clock import SimClock
from services.ecpay.simulator.einvoice_checks import (
    EMAIL,
    INVALID,
    LOVE_CODE,
    MOBILE_BARCODE,
    PHONE,
    SimAnswer,
    check_invoice_ref,
    check_issue,
    check_items,
    check_reason,
    required,
)
from services.ecpay.simulator.einvoice_faults import Faults
from services.ecpay.simulator.einvoice_store import (
    CONSENT_WINDOW,
    PENDING,
    EInvoiceSimConfig,
    InvoiceBook,
    SimAllowance,
    SimInvoice,
    ecpay_datetime,
)

# RqHeader.Timestamp must be within 10 minutes of ECPay's clock (doc 7906, 7911).
MAX_SKEW_SECONDS = 600
# The envelope-level TransCode for a refused envelope is unknown; any value but 1 is a refusal.
TRANS_REFUSED = 0
URL = re.compile(r"https?://\S+")
CONSENT_POST_TIMEOUT = 10.0


class EnvelopeRefused(Exception):
    """TransCode != 1: the envelope itself was not accepted, Data stays empty."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EInvoiceSim:
    """One simulated e-invoice merchant account; state in memory, guarded by the book's lock."""

    def __init__(
        self,
        config: EInvoiceSimConfig,
        clock: SimClock,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.config = config
        self.keys = Keys(config.merchant_id, config.hash_key, config.hash_iv)
        self.clock = clock
        self.book = InvoiceBook(config)
        self.faults = Faults()
        self._http = httpx.Client(timeout=CONSENT_POST_TIMEOUT, transport=transport)
        self.handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "Issue": self.issue,
            "GetIssue": self.get_issue,
            "Invalid": self.invalid,
            "Allowance": self.allowance,
            "AllowanceByCollegiate": self.allowance_by_collegiate,
            "AllowanceInvalid": self.allowance_invalid,
            "CheckBarcode": self.check_barcode,
            "CheckLoveCode": self.check_love_code,
        }

    # -- envelope -------------------------------------------------------------------------
    def open_request(self, body: object) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise EnvelopeRefused("Request 格式錯誤 (a JSON object is required)")
        if body.get("MerchantID") != self.config.merchant_id:
            raise EnvelopeRefused("特店編號不存在 (unknown MerchantID)")
        header = body.get("RqHeader")
        if not isinstance(header, dict):
            raise EnvelopeRefused("RqHeader 為必填")
        # S-SKILL: omitting Revision gives TransCode != 1 (paid-tw says it works): harsher.
        if header.get("Revision") != REVISION:
            raise EnvelopeRefused(f"RqHeader.Revision 必須為 {REVISION}")
        self._check_timestamp(header.get("Timestamp"))
        try:
            data = open_data(body.get("Data"), self.keys)
        except DataDecryptError:
            raise EnvelopeRefused("資料解密錯誤 (Data cannot be decrypted)") from None
        if data.get("MerchantID") != self.config.merchant_id:
            raise EnvelopeRefused("Data.MerchantID 與 MerchantID 不符")
        return data

    def _check_timestamp(self, value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
            raise EnvelopeRefused("RqHeader.Timestamp 格式錯誤 (unix seconds)")
        # Merchants stamp with their own wall clock, so this compares with the wall clock,
        # not the advanceable simulator calendar (see clock.py).
        skew = abs(int(value) - self.clock.wall().timestamp())
        if skew > MAX_SKEW_SECONDS:
            raise EnvelopeRefused(f"Timestamp 已逾時 (off by {int(skew)} s, limit 600 s)")

    def answer(self, endpoint: str, data: dict[str, Any]) -> dict[str, Any]:
        try:
            result = self.handlers[endpoint](data)
        except SimAnswer as refusal:
            return {"RtnCode": refusal.code, "RtnMsg": refusal.message}
        return {"RtnCode": 1, "RtnMsg": "成功", **result}

    # -- invoices -------------------------------------------------------------------------
    def issue(self, data: dict[str, Any]) -> dict[str, Any]:
        relate_number, total = check_issue(data)
        invoice = self.book.issue(relate_number, total, data, self.clock.now())
        return {
            "InvoiceNo": invoice.invoice_no,
            # Seen on the wire with a URL-encoded space (Rytass); the harder form for clients.
            "InvoiceDate": ecpay_datetime(invoice.invoice_date).replace(" ", "+"),
            "RandomNumber": invoice.random_number,
        }

    def get_issue(self, data: dict[str, Any]) -> dict[str, Any]:
        invoice = self.book.by_relate_number(required(data, "RelateNumber"))
        return {
            "IIS_Number": invoice.invoice_no,
            "IIS_Relate_Number": invoice.relate_number,
            "IIS_Create_Date": ecpay_datetime(invoice.invoice_date),
            "IIS_Random_Number": invoice.random_number,
            "IIS_Sales_Amount": invoice.sales_amount,
            "IIS_Tax_Amount": invoice.tax_amount,
            "IIS_Identifier": invoice.data.get("CustomerIdentifier") or "0000000000",
            "IIS_Invalid_Status": "1" if invoice.voided_at else "0",
            "IIS_Remain_Allowance_Amt": invoice.remaining,
            "Items": invoice.data.get("Items", []),
        }

    def invalid(self, data: dict[str, Any]) -> dict[str, Any]:
        invoice_no, invoice_date = check_invoice_ref(data)
        reason = check_reason(data)
        invoice = self.book.by_number(invoice_no, invoice_date)
        self.book.void(invoice, reason, self.clock.now())
        return {"InvoiceNo": invoice.invoice_no}

    # -- allowances -----------------------------------------------------------------------
    def _new_allowance(self, data: dict[str, Any]) -> tuple[SimInvoice, SimAllowance]:
        invoice_no, invoice_date = check_invoice_ref(data)
        _check_notify(data)
        reason = check_reason(data)
        amount, _ = check_items(data, "AllowanceAmount")
        invoice = self.book.by_number(invoice_no, invoice_date)
        now = self.clock.now()
        allowance = SimAllowance(
            allowance_no=self.book.new_allowance_no(now),
            invoice_no=invoice.invoice_no,
            amount=amount,
            created_at=now,
            reason=reason,
            customer_name=str(data.get("CustomerName") or ""),
            notify_mail=str(data.get("NotifyMail") or ""),
        )
        return invoice, allowance

    def allowance(self, data: dict[str, Any]) -> dict[str, Any]:
        invoice, allowance = self._new_allowance(data)
        self.book.add_allowance(invoice, allowance, allowance.created_at)
        return allowance_answer(invoice, allowance)

    def allowance_by_collegiate(self, data: dict[str, Any]) -> dict[str, Any]:
        return_url = required(data, "ReturnURL")
        if not URL.fullmatch(return_url):
            raise SimAnswer(INVALID, "ReturnURL 格式錯誤")
        invoice, allowance = self._new_allowance(data)
        allowance.state, allowance.return_url = PENDING, return_url
        allowance.expires_at = allowance.created_at + CONSENT_WINDOW
        self.book.add_allowance(invoice, allowance, allowance.created_at)
        return {
            "IA_Allow_No": allowance.allowance_no,
            "IA_Invoice_No": invoice.invoice_no,
            "IA_TempDate": ecpay_datetime(allowance.created_at),
            "IA_TempExpireDate": ecpay_datetime(allowance.expires_at),
        }

    def allowance_invalid(self, data: dict[str, Any]) -> dict[str, Any]:
        invoice_no, allowance_no = required(data, "InvoiceNo"), required(data, "AllowanceNo")
        check_reason(data)
        _, allowance = self.book.allowance(invoice_no, allowance_no)
        self.book.void_allowance(allowance, self.clock.now())
        return {"IA_Invoice_No": invoice_no}

    def consent(self, allowance_no: str) -> dict[str, Any]:
        """The buyer agrees: the allowance exists, then ECPay posts the merchant's ReturnURL."""
        invoice, allowance = self.book.consent(allowance_no, self.clock.now())
        # The field set of doc 38242's example post (no MerchantID; IIS_ for the remainder).
        form = {
            "RtnCode": "1",
            "RtnMsg": "成功",
            "IA_Allow_No": allowance.allowance_no,
            "IA_Invoice_No": invoice.invoice_no,
            "IA_Date": ecpay_datetime(allowance.created_at),
            "IIS_Remain_Allowance_Amt": str(invoice.remaining),
        }
        signed = sign(form, self.config.hash_key, self.config.hash_iv, EncryptType.MD5)
        try:
            response = self._http.post(allowance.return_url, data=signed)
        except httpx.HTTPError as exc:
            delivery: dict[str, Any] = {"error": f"{type(exc).__name__}: {exc}"}
        else:
            delivery = {"status": response.status_code, "body": response.text[:200]}
        return {"allowance": allowance.to_json(), "posted": signed, "delivery": delivery}

    # -- MOF look-ups ---------------------------------------------------------------------
    def check_barcode(self, data: dict[str, Any]) -> dict[str, Any]:
        barcode = required(data, "BarCode")
        if not MOBILE_BARCODE.fullmatch(barcode):
            raise SimAnswer(INVALID, "BarCode 格式錯誤 ('/' + 7 of 0-9A-Z.+-)")
        return {"IsExist": "Y" if barcode in self.config.barcodes else "N"}

    def check_love_code(self, data: dict[str, Any]) -> dict[str, Any]:
        love_code = required(data, "LoveCode")
        if not LOVE_CODE.fullmatch(love_code):
            raise SimAnswer(INVALID, "LoveCode 格式錯誤 (3-7 digits)")
        return {"IsExist": "Y" if love_code in self.config.love_codes else "N"}


def allowance_answer(invoice: SimInvoice, allowance: SimAllowance) -> dict[str, Any]:
    return {
        "IA_Allow_No": allowance.allowance_no,
        "IA_Invoice_No": invoice.invoice_no,
        "IA_Date": ecpay_datetime(allowance.created_at),
        "IA_Remain_Allowance_Amt": invoice.remaining,
    }


def _check_notify(data: Mapping[str, Any]) -> None:
    notify = required(data, "AllowanceNotify")
    if notify not in ("S", "E", "A", "N"):
        raise SimAnswer(INVALID, "AllowanceNotify 格式錯誤 (S, E, A or N)")
    if notify in ("E", "A") and not EMAIL.fullmatch(str(data.get("NotifyMail") or "")):
        raise SimAnswer(INVALID, "NotifyMail 為必填 (a valid e-mail when AllowanceNotify is E/A)")
    if notify in ("S", "A") and not PHONE.fullmatch(str(data.get("NotifyPhone") or "")):
        raise SimAnswer(INVALID, "NotifyPhone 為必填 (when AllowanceNotify is S/A)")


def now_timestamp(moment: datetime) -> int:
    return int(moment.timestamp())
