"""The buyer's consent to an online allowance (AllowanceByCollegiate): ECPay's ReturnURL post.

It is the only place in the B2C e-invoice API signed with a CheckMacValue, and that one is MD5
(EncryptType 0). The fields are those of doc 38242's example: RtnCode, RtnMsg, IA_Allow_No,
IA_Invoice_No, IA_Date, IIS_Remain_Allowance_Amt (no MerchantID). Whatever else is posted is
kept in ``fields``.
"""

from __future__ import annotations

from collections.abc import Mapping

from services.ecpay.checkmac import EncryptType, verify_check_mac_value
from services.ecpay.einvoice.errors import ConsentSignatureInvalid, EInvoiceRefused
from services.ecpay.einvoice.models import AllowanceConsent, parse_ecpay_datetime

CONSENT_FIELDS = (
    "RtnCode",
    "RtnMsg",
    "IA_Allow_No",
    "IA_Invoice_No",
    "IA_Date",
    "IIS_Remain_Allowance_Amt",
)


def verify_allowance_consent(
    form: Mapping[str, str],
    hash_key: str,
    hash_iv: str,
    *,
    merchant_id: str | None = None,
) -> AllowanceConsent:
    """The consent a genuine post reports; ConsentSignatureInvalid for a forged or altered one.

    Answer ECPay with ``1|OK`` only after the consent is stored.
    """
    if not verify_check_mac_value(form, hash_key, hash_iv, EncryptType.MD5):
        raise ConsentSignatureInvalid(0, "allowance consent CheckMacValue does not verify")
    # The documented post carries no MerchantID; one that names another merchant is not ours.
    if merchant_id is not None and form.get("MerchantID", merchant_id) != merchant_id:
        raise ConsentSignatureInvalid(0, f"consent for another merchant: {form.get('MerchantID')}")
    if str(form.get("RtnCode", "1")) != "1":
        raise EInvoiceRefused(0, f"consent post reports failure: {form.get('RtnMsg', '')}")
    allowance_no, invoice_no = form.get("IA_Allow_No", ""), form.get("IA_Invoice_No", "")
    if not allowance_no or not invoice_no:
        raise EInvoiceRefused(0, "consent post lacks IA_Allow_No or IA_Invoice_No")
    remaining = form.get("IIS_Remain_Allowance_Amt") or form.get("IA_Remain_Allowance_Amt", "")
    date_text = form.get("IA_Date", "")
    return AllowanceConsent(
        invoice_no=invoice_no,
        allowance_no=allowance_no,
        allowance_date=parse_ecpay_datetime(date_text) if date_text else None,
        remaining_amount=int(remaining) if remaining.isdigit() else None,
        fields={name: str(value) for name, value in form.items()},
    )
