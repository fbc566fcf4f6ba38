"""ECPay B2C e-invoice (電子發票) protocol: client, envelope, models, errors, consent check.

Depends on nothing in services.core: the caller passes a clock (``now``) and keys.
"""

from services.ecpay.einvoice.client import EInvoiceClient
from services.ecpay.einvoice.consent import verify_allowance_consent
from services.ecpay.einvoice.errors import (
    ConsentSignatureInvalid,
    EInvoiceAlreadyVoided,
    EInvoiceCutoffPassed,
    EInvoiceDuplicate,
    EInvoiceError,
    EInvoiceHasAllowances,
    EInvoiceNotFound,
    EInvoiceRangeExhausted,
    EInvoiceRefused,
    EInvoiceTransient,
)
from services.ecpay.einvoice.models import (
    TAIPEI,
    AllowanceConsent,
    AllowanceResult,
    InvoiceItem,
    InvoiceRecord,
    IssuedInvoice,
    IssueRequest,
    PendingAllowance,
)

__all__ = [
    "TAIPEI",
    "AllowanceConsent",
    "AllowanceResult",
    "ConsentSignatureInvalid",
    "EInvoiceAlreadyVoided",
    "EInvoiceClient",
    "EInvoiceCutoffPassed",
    "EInvoiceDuplicate",
    "EInvoiceError",
    "EInvoiceHasAllowances",
    "EInvoiceNotFound",
    "EInvoiceRangeExhausted",
    "EInvoiceRefused",
    "EInvoiceTransient",
    "InvoiceItem",
    "InvoiceRecord",
    "IssueRequest",
    "IssuedInvoice",
    "PendingAllowance",
    "verify_allowance_consent",
]
