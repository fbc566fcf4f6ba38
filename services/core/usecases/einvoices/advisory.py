"""Advisory checks of a mobile barcode or love code with ECPay (which asks the Ministry of
Finance). Advisory only: the format rules decide what is accepted, and an unregistered or
unverifiable code never blocks a sale — the MOF's API has unplanned outages."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from services.core.domain.einvoice_buyer import InvoiceKind, InvoicePreference
from services.core.usecases.einvoices import preferences
from services.ecpay.einvoice import EInvoiceClient, EInvoiceError


class Registration(StrEnum):
    REGISTERED = "registered"
    NOT_REGISTERED = "not_registered"
    UNKNOWN = "unknown"  # ECPay or the Ministry did not answer: nothing is known
    NOT_APPLICABLE = "not_applicable"  # the invoice type has no code to check


@dataclass(frozen=True)
class CheckResult:
    registration: Registration
    code: str
    message: str = ""


def check(gateway: EInvoiceClient, pref: InvoicePreference) -> CheckResult:
    pref = preferences.checked(pref)
    if pref.kind == InvoiceKind.MOBILE_BARCODE:
        code, call = pref.carrier_num, gateway.check_barcode
    elif pref.kind == InvoiceKind.DONATION:
        code, call = pref.love_code, gateway.check_love_code
    else:
        return CheckResult(Registration.NOT_APPLICABLE, "")
    try:
        exists = call(code)
    except EInvoiceError as exc:
        return CheckResult(Registration.UNKNOWN, code, exc.message)
    return CheckResult(Registration.REGISTERED if exists else Registration.NOT_REGISTERED, code)
