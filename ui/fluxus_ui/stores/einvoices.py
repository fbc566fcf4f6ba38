"""What the dashboard says about e-invoices (電子發票): a preference in one line, the API's
field errors in the customer's words, and an issued invoice's carrier and state."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from fluxus_ui.i18n import date
from fluxus_ui.models import USER_INVOICE_COLUMNS, EInvoice, InvoicePreference

Translate = Callable[..., str]
_TAX_ID_SHAPE = re.compile(r"[0-9]{8}", re.ASCII)
_COLUMN_FIELDS = {column: key for key, column in USER_INVOICE_COLUMNS.items()}
# The format each field is refused for, by kind (the API's rules in einvoice_buyer).
_FORMAT_PROBLEMS = {
    ("mobile_barcode", "carrier_num"): "barcode_format",
    ("certificate", "carrier_num"): "certificate_format",
    ("donation", "love_code"): "love_code_format",
}


def form_field(api_field: str) -> str:
    """The form's field for an API error name: invoice_carrier_num (account) and
    invoice.carrier_num (order) both land on carrier_num."""
    name = api_field.removeprefix("invoice.")
    return _COLUMN_FIELDS.get(name, _COLUMN_FIELDS.get(f"invoice_{name}", name))


def _code(value: str) -> str:
    # As the API normalizes: a Chinese IME's full-width ／ＡＢ１ is the ASCII it stands for.
    return unicodedata.normalize("NFKC", value).strip().upper()


def problem(pref: InvoicePreference, field: str) -> str:
    """Why the API refused `field` of `pref`, as a catalog key suffix; "" when unknown (then the
    API's own message is shown). The API says that a field is wrong; this says how."""
    value = getattr(pref, field, "")
    if not isinstance(value, str):
        return ""
    if not _code(value):
        return "required"
    if field == "tax_id":
        return "tax_id_checksum" if _TAX_ID_SHAPE.fullmatch(_code(value)) else "tax_id_format"
    return _FORMAT_PROBLEMS.get((pref.kind, field), "")


def field_errors(pref: InvoicePreference, errors: dict[str, str], t: Translate) -> dict[str, str]:
    """The API's 422 field errors keyed by the form's fields, in the customer's language."""
    shown: dict[str, str] = {}
    for api_field, message in errors.items():
        field = form_field(api_field)
        code = problem(pref, field)
        shown[field] = t(f"einv.problem.{code}") if code else message
    return shown


def summary(pref: InvoicePreference, email: str, t: Translate) -> str:
    """Which invoice an order with this preference gets, e.g. "捐贈 919"."""
    if pref.kind == "mobile_barcode":
        return t("einv.summary.mobile_barcode", number=pref.carrier_num)
    if pref.kind == "certificate":
        return t("einv.summary.certificate", number=pref.carrier_num)
    if pref.kind == "donation":
        return t("einv.summary.donation", code=pref.love_code)
    if pref.kind == "company":
        if pref.company_print:
            return t("einv.summary.company_print", tax_id=pref.tax_id, name=pref.company_name,
                     address=pref.address)
        return t("einv.summary.company", tax_id=pref.tax_id, name=pref.company_name)
    return t("einv.summary.cloud", email=email)


def note(einvoice: EInvoice) -> str:
    """The catalog key explaining an invoice that has no number to show (yet); "" if issued."""
    if einvoice.status == "not_issued":
        return {
            "einvoicing_disabled": "einv.note.disabled",
            "zero_total": "einv.note.zero_total",
            "predates_einvoicing": "einv.note.predates",
        }.get(einvoice.reason, "einv.note.not_issued")
    return {"pending": "einv.note.pending", "failed": "einv.note.failed",
            "voided": "einv.note.voided"}.get(einvoice.status, "")


def delivery(einvoice: EInvoice, t: Translate) -> tuple[str, str] | None:
    """(label, value) of where the invoice went: the carrier, the donation, or the 統編."""
    if einvoice.love_code:
        return t("einv.donated"), t("einv.donated_to", code=einvoice.love_code)
    if einvoice.buyer_tax_id:
        return t("einv.buyer_tax_id"), einvoice.buyer_tax_id
    if einvoice.carrier_type == "3":
        return t("einv.carrier"), t("einv.carrier.barcode", number=einvoice.carrier_num)
    if einvoice.carrier_type == "2":
        return t("einv.carrier"), t("einv.carrier.certificate", number=einvoice.carrier_num)
    if einvoice.carrier_type == "1":
        return t("einv.carrier"), t("einv.carrier.member")
    return None


def details(einvoice: EInvoice, t: Translate) -> list[tuple[str, str]]:
    """The rows of an issued (or voided) e-invoice: number, date, random number, delivery."""
    if not einvoice.number:
        return []
    rows = [(t("einv.number"), einvoice.number), (t("einv.date"), date(einvoice.invoice_date)),
            (t("einv.random"), einvoice.random_number or "—")]
    where = delivery(einvoice, t)
    if where is not None:
        rows.append(where)
    return rows
